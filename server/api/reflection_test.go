package api_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/metadata"
	refl "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// TestReflection does what grpcurl does: list the services through server
// reflection, fetch their descriptors (with dependencies) from the server,
// and call methods with dynamic messages built from those descriptors only.
func TestReflection(t *testing.T) {
	ctx := context.Background()
	ts, root := unsealed(t)
	conn := grpcConn(t, ts)
	stream, err := refl.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *refl.ServerReflectionRequest) *refl.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("reflection error: %s", e.GetErrorMessage())
		}
		return resp
	}

	list := ask(&refl.ServerReflectionRequest{MessageRequest: &refl.ServerReflectionRequest_ListServices{}})
	var names []string
	for _, s := range list.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"secretumvault.v1.Sys", "secretumvault.v1.Logical", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("services %v lack %s", names, want)
		}
	}

	set := &descriptorpb.FileDescriptorSet{}
	for _, svc := range []string{"secretumvault.v1.Sys", "secretumvault.v1.Logical"} {
		resp := ask(&refl.ServerReflectionRequest{MessageRequest: &refl.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc}})
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(raw, fd); err != nil {
				t.Fatal(err)
			}
			set.File = append(set.File, fd)
		}
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("descriptors from reflection do not resolve: %v", err)
	}

	call := func(ctx context.Context, method string, fill func(m *dynamicpb.Message)) *dynamicpb.Message {
		t.Helper()
		d, err := files.FindDescriptorByName(protoreflect.FullName(method))
		if err != nil {
			t.Fatal(err)
		}
		md := d.(protoreflect.MethodDescriptor)
		in, out := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
		if fill != nil {
			fill(in)
		}
		full := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
		if err := conn.Invoke(ctx, full, in, out); err != nil {
			t.Fatalf("%s: %v", full, err)
		}
		return out
	}

	st := call(ctx, "secretumvault.v1.Sys.SealStatus", nil)
	if sealed := st.Get(st.Descriptor().Fields().ByName("sealed")).Bool(); sealed {
		t.Errorf("dynamic SealStatus says sealed: %v", st)
	}
	body := call(metadata.AppendToOutgoingContext(ctx, "x-vault-token", root), "secretumvault.v1.Logical.Handle", func(m *dynamicpb.Message) {
		f := m.Descriptor().Fields()
		m.Set(f.ByName("path"), protoreflect.ValueOfString("sys/mounts"))
		m.Set(f.ByName("operation"), protoreflect.ValueOfString("read"))
	})
	data := body.Get(body.Descriptor().Fields().ByName("data")).Bytes()
	if body.Get(body.Descriptor().Fields().ByName("content_type")).String() != "application/json" || len(data) == 0 {
		t.Errorf("dynamic Logical.Handle = %v", body)
	}
}
