package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// marshalVaultJSON renders a proto message the way Vault's Go structs
// marshal: proto field names, declaration order, 64-bit integers as JSON
// numbers, fields without presence always emitted (Vault's plain fields),
// fields with presence (proto3 optional, messages) only when set (Vault's
// omitempty). The output ends with a newline, as json.Encoder's does.
func marshalVaultJSON(m proto.Message) ([]byte, error) {
	var b bytes.Buffer
	if err := appendMessage(&b, m.ProtoReflect()); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func appendMessage(b *bytes.Buffer, m protoreflect.Message) error {
	switch m.Descriptor().FullName() {
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue":
		raw, err := protojson.Marshal(m.Interface())
		if err != nil {
			return fmt.Errorf("render %s: %w", m.Descriptor().FullName(), err)
		}
		return compactInto(b, raw)
	case "google.protobuf.Timestamp":
		fields := m.Descriptor().Fields()
		sec := m.Get(fields.ByName("seconds")).Int()
		nsec := m.Get(fields.ByName("nanos")).Int()
		return appendJSON(b, time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano))
	}
	b.WriteByte('{')
	fields := m.Descriptor().Fields()
	first := true
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.HasPresence() && !m.Has(fd) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		if err := appendJSON(b, string(fd.Name())); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := appendField(b, fd, m.Get(fd)); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func appendField(b *bytes.Buffer, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch {
	case fd.IsList():
		l := v.List()
		b.WriteByte('[')
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendSingular(b, fd, l.Get(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case fd.IsMap():
		return appendMap(b, fd, v.Map())
	}
	return appendSingular(b, fd, v)
}

func appendMap(b *bytes.Buffer, fd protoreflect.FieldDescriptor, m protoreflect.Map) error {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := appendJSON(b, k.String()); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := appendSingular(b, fd.MapValue(), m.Get(k)); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func appendSingular(b *bytes.Buffer, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("render field %s: non-finite number", fd.Name())
		}
		return appendJSON(b, f)
	case protoreflect.StringKind:
		return appendJSON(b, v.String())
	case protoreflect.BytesKind:
		return appendJSON(b, base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendJSON(b, string(ev.Name()))
		}
		b.WriteString(strconv.FormatInt(int64(v.Enum()), 10))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message())
	default:
		return fmt.Errorf("render field %s: unsupported kind %s", fd.Name(), fd.Kind())
	}
	return nil
}

// appendJSON writes v as encoding/json does (HTML-escaped, like Vault).
func appendJSON(b *bytes.Buffer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("render json: %w", err)
	}
	b.Write(raw)
	return nil
}

func compactInto(b *bytes.Buffer, raw []byte) error {
	if err := json.Compact(b, raw); err != nil {
		return fmt.Errorf("render json: %w", err)
	}
	return nil
}
