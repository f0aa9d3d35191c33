package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// workload is C clients doing random put/get on a few KV v2 keys, client c
// bound to node c mod N, for Duration.
type workload struct {
	Clients   int
	Keys      int
	Duration  time.Duration
	OpTimeout time.Duration // per request, e.g. 2s
	Mount     string        // a kv-v2 mount, e.g. "secret"
	Seed      uint64        // seeds the op choices (timing is not reproducible)
}

// keyName is the i-th key of the workload.
func keyName(i int) string { return fmt.Sprintf("lin/k%d", i) }

// kvClient reads and writes KV v2 through one node.
type kvClient struct {
	node  int
	cl    *vault.Client
	mount string
}

func newKVClient(c *Cluster, node int, token, mount string, timeout time.Duration) (*kvClient, error) {
	n, err := c.node(node)
	if err != nil {
		return nil, err
	}
	cl, err := newClient(n, token)
	if err != nil {
		return nil, err
	}
	cl.SetClientTimeout(timeout)
	return &kvClient{node: node, cl: cl, mount: mount}, nil
}

func (k *kvClient) put(ctx context.Context, key, value string) error {
	_, err := k.cl.Logical().WriteWithContext(ctx, k.mount+"/data/"+key, map[string]any{"data": map[string]any{"v": value}})
	return err
}

// get reads the latest version; a 404 without error messages is Vault's
// answer for a missing key (a 404 naming an error, e.g. no route, is an
// error, not "absent").
func (k *kvClient) get(ctx context.Context, key string) (kvOutput, error) {
	resp, err := k.cl.Logical().ReadRawWithContext(ctx, k.mount+"/data/"+key)
	if resp != nil {
		defer resp.Body.Close()
	}
	var re *vault.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound && len(re.Errors) == 0 {
		return kvOutput{}, nil
	}
	if err != nil {
		return kvOutput{}, err
	}
	secret, err := vault.ParseSecret(resp.Body)
	if err != nil {
		return kvOutput{}, fmt.Errorf("parse %s: %w", key, err)
	}
	data, _ := secret.Data["data"].(map[string]any)
	v, ok := data["v"].(string)
	if !ok {
		return kvOutput{}, fmt.Errorf("read %s: no string field v in %v", key, secret.Data)
	}
	return kvOutput{Value: v, Exists: true}, nil
}

// definitelyFailed reports whether a put certainly had no effect: the
// server refused it with a 4xx, or no connection was ever made.
func definitelyFailed(err error) bool {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 400 && re.StatusCode < 500 &&
			re.StatusCode != http.StatusRequestTimeout && re.StatusCode != http.StatusTooManyRequests
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// run drives the clients until Duration has passed and every in-flight
// request has ended.
func (w workload) run(c *Cluster, token string, rec *Recorder) error {
	clients := make([]*kvClient, w.Clients)
	for i := range clients {
		kc, err := newKVClient(c, i%len(c.Nodes), token, w.Mount, w.OpTimeout)
		if err != nil {
			return err
		}
		clients[i] = kc
	}
	deadline := time.Now().Add(w.Duration)
	var wg sync.WaitGroup
	for i, kc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(i, kc, rec, deadline)
		}()
	}
	wg.Wait()
	return nil
}

// client is one client's loop. After a put with an unknown outcome the
// client continues as a new process (id + Clients), as in Jepsen, so that
// the open operation does not overlap its own process's later ones.
func (w workload) client(i int, kc *kvClient, rec *Recorder, deadline time.Time) {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(i)))
	proc := i
	for seq := 0; time.Now().Before(deadline); seq++ {
		key := keyName(rng.IntN(w.Keys))
		ctx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
		var failed bool
		if rng.IntN(2) == 0 {
			value := fmt.Sprintf("c%d-%d", i, seq)
			id := rec.Call(proc, kc.node, kvInput{Op: opPut, Key: key, Value: value})
			err := kc.put(ctx, key, value)
			switch {
			case err == nil:
				rec.Return(id, kvOutput{})
			case definitelyFailed(err):
				rec.Drop(id)
				failed = true
			default:
				rec.Unknown(id)
				proc += w.Clients
				failed = true
			}
		} else {
			id := rec.Call(proc, kc.node, kvInput{Op: opGet, Key: key})
			out, err := kc.get(ctx, key)
			if err != nil {
				rec.Drop(id)
				failed = true
			} else {
				rec.Return(id, out)
			}
		}
		cancel()
		if failed {
			time.Sleep(50 * time.Millisecond) // no busy loop against a dead node
		}
	}
}

// finalReads reads every key through every node once the cluster is whole
// again, retrying each read for up to timeout, and records the reads. It
// returns the value read of each key through each node.
func (w workload) finalReads(c *Cluster, token string, rec *Recorder, timeout time.Duration) (map[string][]kvOutput, error) {
	final := map[string][]kvOutput{}
	for node := range c.Nodes {
		kc, err := newKVClient(c, node, token, w.Mount, w.OpTimeout)
		if err != nil {
			return nil, err
		}
		for k := range w.Keys {
			key := keyName(k)
			out, err := readRetry(kc, rec, 10000+node, key, timeout)
			if err != nil {
				return nil, err
			}
			final[key] = append(final[key], out)
		}
	}
	return final, nil
}

// readRetry records get attempts until one succeeds.
func readRetry(kc *kvClient, rec *Recorder, proc int, key string, timeout time.Duration) (kvOutput, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		id := rec.Call(proc, kc.node, kvInput{Op: opGet, Key: key})
		out, err := kc.get(ctx, key)
		cancel()
		if err == nil {
			rec.Return(id, out)
			return out, nil
		}
		rec.Drop(id)
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return kvOutput{}, fmt.Errorf("final read of %s through node%d for %v: %w", key, kc.node, timeout, last)
}
