package rotation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// SignatureHeader carries a webhook body's signature: "sha256=" + hex
// HMAC-SHA256 of the body keyed by the webhook's secret.
const SignatureHeader = "X-Secretum-Signature"

// event is a webhook body. It never holds a secret value.
type event struct {
	Event     string    `json:"event"`
	Policy    string    `json:"policy"`
	Path      string    `json:"path"`
	Time      time.Time `json:"time"`
	AgeSecs   int64     `json:"age_seconds,omitempty"`
	MaxAge    int64     `json:"max_age_seconds,omitempty"`
	WarnAt    int64     `json:"warn_at_seconds,omitempty"`
	Version   string    `json:"version,omitempty"`
	Error     string    `json:"error,omitempty"`
	DueSecs   int64     `json:"due_in_seconds,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	AttemptNo int       `json:"attempt,omitempty"`
}

// delivery is one webhook call.
type delivery struct {
	hook Webhook
	body []byte
}

// notifier sends webhooks from its own goroutine, so that a slow or
// failing receiver never blocks a rotation; when its queue is full new
// deliveries are dropped (and logged).
type notifier struct {
	client *http.Client
	log    *slog.Logger
	mu     sync.Mutex
	queue  chan delivery
	wg     sync.WaitGroup
}

func newNotifier(c *http.Client, log *slog.Logger) *notifier {
	return &notifier{client: c, log: log}
}

func (n *notifier) start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queue = make(chan delivery, 1024)
	q := n.queue
	n.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-q:
				n.send(ctx, d)
			}
		}
	})
}

func (n *notifier) stop() {
	n.wg.Wait()
	n.mu.Lock()
	n.queue = nil
	n.mu.Unlock()
}

// enqueue schedules a delivery without blocking.
func (n *notifier) enqueue(d delivery) {
	n.mu.Lock()
	q := n.queue
	n.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- d:
	default:
		n.log.Warn("rotation: webhook queue full; notification dropped", "url", d.hook.URL)
	}
}

// send POSTs one notification.
func (n *notifier) send(ctx context.Context, d delivery) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hook.URL, bytes.NewReader(d.body))
	if err != nil {
		n.log.Warn("rotation: webhook request", "url", d.hook.URL, "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(d.hook.Secret, d.body))
	resp, err := n.client.Do(req)
	if err != nil {
		n.log.Warn("rotation: webhook failed", "url", d.hook.URL, "error", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		n.log.Warn("rotation: webhook refused", "url", d.hook.URL, "status", resp.StatusCode)
	}
}

// Sign is the signature of body under secret, as SignatureHeader.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// notify sends ev to every webhook of p.
func (s *Scheduler) notify(p *Policy, ev event) {
	if len(p.Notify) == 0 {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for _, h := range p.Notify {
		s.notifier.enqueue(delivery{hook: h, body: body})
	}
}
