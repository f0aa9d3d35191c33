package cli

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/client"
)

// session is how most commands start: the printer of the -format flag
// (a bad format is a usage error before anything else), then the client.
func (a *app) session() (*printer, *client.Client, error) {
	p, err := a.printer()
	if err != nil {
		return nil, nil, err
	}
	cl, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	return p, cl, nil
}

// fetchAndPrint is the whole run of a command that reads one thing and
// prints it ("status", "policy schema", "auth list" ...): session, one call
// (its error wrapped as "<doing>: ..."), then the document render makes of
// the answer. It returns the answer for a command that derives its exit
// code from it.
func fetchAndPrint[T any](ctx context.Context, a *app, doing string,
	fetch func(context.Context, *client.Client) (T, error), render func(T) document) (T, error) {
	var zero T
	p, cl, err := a.session()
	if err != nil {
		return zero, err
	}
	v, err := fetch(ctx, cl)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", doing, err)
	}
	return v, p.print(render(v))
}

// onSys adapts a method expression of client.Sys, such as
// (*client.Sys).SealStatus, to fetchAndPrint's fetch.
func onSys[T any](method func(*client.Sys, context.Context) (T, error)) func(context.Context, *client.Client) (T, error) {
	return func(ctx context.Context, cl *client.Client) (T, error) { return method(cl.Sys(), ctx) }
}
