package lockout

import "errors"

// Attempt runs one login for key under t. While key is locked it returns
// ErrLockedOut without running login. Otherwise it runs login: an error
// for which failed reports true is a refused login and counts towards
// the lockout (locked reports whether it locked key); any other error
// (a failure of the server, a malformed request) counts nothing; a
// success forgets key's failures.
func Attempt[T any](t *Tracker, key string, failed func(error) bool, login func() (T, error)) (res T, locked bool, err error) {
	if err := t.Check(key); err != nil {
		return res, false, err
	}
	res, err = login()
	if err != nil {
		if failed(err) {
			locked = t.Fail(key)
		}
		return res, locked, err
	}
	t.Succeed(key)
	return res, false, nil
}

// Refusal is a refused login: the error the client gets (Err) and why,
// for the server's log only (Reason, never a credential).
type Refusal struct {
	Reason string
	Err    error
}

// Refused returns a *Refusal of err for reason.
func Refused(reason string, err error) error { return &Refusal{Reason: reason, Err: err} }

// Error is Err's message: the reason is not the client's to see.
func (r *Refusal) Error() string { return r.Err.Error() }

// Unwrap returns Err.
func (r *Refusal) Unwrap() error { return r.Err }

// IsRefusal reports whether err is (or wraps) a *Refusal; it serves as
// Attempt's failed for methods that report refusals so.
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// ReasonOf is the reason of the *Refusal err is or wraps, "" for none.
func ReasonOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}
