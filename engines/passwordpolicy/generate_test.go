package passwordpolicy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
)

// seeded is a deterministic reader: ChaCha8 with the seed's first byte set.
func seeded(b byte) io.Reader {
	var seed [32]byte
	seed[0] = b
	return rand.NewChaCha8(seed)
}

// satisfies reports, independently of the package, why pw breaks p.
func satisfies(p *passwordpolicy.Policy, pw string) string {
	if !utf8.ValidString(pw) {
		return "not valid UTF-8"
	}
	if n := utf8.RuneCountInString(pw); n != p.Length() {
		return "wrong length"
	}
	for _, c := range pw {
		if !strings.ContainsRune(p.Charset(), c) {
			return "a rune outside the charset"
		}
	}
	for i, r := range p.Rules() {
		n := 0
		for _, c := range pw {
			if strings.ContainsRune(r.Charset, c) {
				n++
			}
		}
		if n < r.MinChars {
			return "rule " + strconv.Itoa(i+1) + " not met"
		}
	}
	return ""
}

func TestGenerateNilReaderUsesCryptoRand(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()
	a, err := p.Generate(context.Background(), nil)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	b, err := p.Generate(context.Background(), nil)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for _, pw := range []string{a, b} {
		if why := satisfies(p, pw); why != "" {
			t.Errorf("password breaks the policy: %s", why)
		}
	}
	if a == b { // probability about 2^-117
		t.Error("two passwords from crypto/rand are equal")
	}
}

func TestGenerateUsesOnlyTheReader(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()
	gen := func(r io.Reader) string {
		t.Helper()
		pw, err := p.Generate(context.Background(), r)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		return pw
	}
	first := gen(seeded(1))
	if again := gen(seeded(1)); again != first {
		t.Error("the same seed gave different passwords")
	}
	if other := gen(seeded(2)); other == first {
		t.Error("different seeds gave the same password")
	}
	// Short reads consume the same stream in the same order.
	if got := gen(iotest.OneByteReader(seeded(1))); got != first {
		t.Error("one-byte reads gave a different password")
	}
	if got := gen(iotest.HalfReader(seeded(1))); got != first {
		t.Error("half reads gave a different password")
	}
}

func TestGenerateRejectedDrawsAreRedrawn(t *testing.T) {
	t.Parallel()
	// Every other 32-bit word is 0xffffffff, which rejection sampling
	// refuses for any charset whose size is not a power of two: the
	// generator must draw again (and read past its first buffer).
	r := &countingReader{r: &everyOtherWordMax{r: seeded(6)}}
	p := passwordpolicy.Default()
	pw, err := p.Generate(context.Background(), r)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if why := satisfies(p, pw); why != "" {
		t.Errorf("password breaks the policy: %s", why)
	}
	if r.reads < 2 {
		t.Errorf("read %d times: the rejected words were not redrawn", r.reads)
	}
}

func TestGenerateContextCanceled(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	counter := &countingReader{r: seeded(3)}
	if _, err := p.Generate(ctx, counter); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a canceled context: %v, want context.Canceled", err)
	}
	if counter.reads != 0 {
		t.Errorf("the reader was read %d times after cancellation", counter.reads)
	}

	// Cancelled between reads: the reader hands out one byte per Read and
	// cancels after its first.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	slow := &countingReader{r: iotest.OneByteReader(seeded(3)), after: cancel}
	if _, err := p.Generate(ctx, slow); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate cancelled mid-way: %v, want context.Canceled", err)
	}
	if slow.reads != 1 {
		t.Errorf("read %d times, want 1: the context is checked before each read", slow.reads)
	}
}

func TestGenerateReaderFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("entropy device unplugged")
	tests := []struct {
		name string
		r    io.Reader
		want error // besides ErrRandomSource
	}{
		{"fails at once", iotest.ErrReader(boom), boom},
		{"fails after some bytes", io.MultiReader(io.LimitReader(seeded(4), 10), iotest.ErrReader(boom)), boom},
		{"runs dry", bytes.NewReader(make([]byte, 30)), io.EOF},
		{"makes no progress", emptyReader{}, io.ErrNoProgress},
		{"constant bytes always rejected", constReader(0xff), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pw, err := passwordpolicy.Default().Generate(context.Background(), tt.r)
			if err == nil {
				t.Fatalf("Generate succeeded (%d runes), want an error", utf8.RuneCountInString(pw))
			}
			if !errors.Is(err, passwordpolicy.ErrRandomSource) {
				t.Errorf("error %v does not wrap ErrRandomSource", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if pw != "" {
				t.Error("a password came back with the error")
			}
		})
	}
}

func TestGenerateZeroPolicy(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]*passwordpolicy.Policy{"zero": {}, "nil": nil} {
		if _, err := p.Generate(context.Background(), seeded(5)); !errors.Is(err, passwordpolicy.ErrInvalidPolicy) {
			t.Errorf("%s policy: Generate error %v, want ErrInvalidPolicy", name, err)
		}
	}
}

func TestGenerateConcurrent(t *testing.T) {
	t.Parallel()
	p := passwordpolicy.Default()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 100 {
				pw, err := p.Generate(context.Background(), nil)
				if err == nil && satisfies(p, pw) != "" {
					err = errors.New(satisfies(p, pw))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// countingReader counts reads and calls after, if set, after each one.
type countingReader struct {
	r     io.Reader
	reads int
	after func()
}

func (c *countingReader) Read(b []byte) (int, error) {
	c.reads++
	n, err := c.r.Read(b)
	if c.after != nil {
		c.after()
	}
	return n, err
}

// everyOtherWordMax replaces every other 4-byte word of r with 0xffffffff.
type everyOtherWordMax struct {
	r   io.Reader
	pos int
}

func (e *everyOtherWordMax) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	for i := range n {
		if (e.pos/4)%2 == 0 {
			b[i] = 0xff
		}
		e.pos++
	}
	return n, err
}

// emptyReader returns no data and no error, forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// constReader returns the same byte forever.
type constReader byte

func (c constReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(c)
	}
	return len(b), nil
}

func BenchmarkGenerate(b *testing.B) {
	long, err := passwordpolicy.New(100,
		passwordpolicy.Rule{Charset: "abcdefghijklmnopqrstuvwxyz", MinChars: 10},
		passwordpolicy.Rule{Charset: "0123456789", MinChars: 10},
		passwordpolicy.Rule{Charset: "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", MinChars: 5},
	)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		p    *passwordpolicy.Policy
		r    func() io.Reader
	}{
		{"default/crypto", passwordpolicy.Default(), func() io.Reader { return nil }},
		{"default/chacha8", passwordpolicy.Default(), func() io.Reader { return seeded(9) }},
		{"length100/crypto", long, func() io.Reader { return nil }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx, r := context.Background(), c.r()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.p.Generate(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	text := passwordpolicy.Default().Canonical()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := passwordpolicy.Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
