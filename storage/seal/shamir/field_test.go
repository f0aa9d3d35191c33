package shamir

import "testing"

// slowMul is a textbook carry-less multiply with branchy reduction, used as
// an independent reference for the constant-time mul.
func slowMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 == 1 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1b
		}
		b >>= 1
	}
	return p
}

func TestMulMatchesReference(t *testing.T) {
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			if got, want := mul(byte(a), byte(b)), slowMul(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
	}
	// Known AES field value (FIPS-197 §4.2): {57}·{83} = {c1}.
	if got := mul(0x57, 0x83); got != 0xc1 {
		t.Fatalf("mul(0x57, 0x83) = %#x, want 0xc1", got)
	}
}

func TestInverse(t *testing.T) {
	if inv(0) != 0 {
		t.Fatalf("inv(0) = %#x, want 0", inv(0))
	}
	for a := 1; a < 256; a++ {
		if got := mul(byte(a), inv(byte(a))); got != 1 {
			t.Fatalf("a·inv(a) = %#x for a = %#x", got, a)
		}
		if got := div(byte(a), byte(a)); got != 1 {
			t.Fatalf("a/a = %#x for a = %#x", got, a)
		}
	}
}

func TestEvaluateHorner(t *testing.T) {
	// p(x) = 7 + 3x + 5x^2 evaluated term by term.
	coeffs := []byte{7, 3, 5}
	for x := 0; x < 256; x++ {
		xb := byte(x)
		want := coeffs[0] ^ mul(coeffs[1], xb) ^ mul(coeffs[2], mul(xb, xb))
		if got := evaluate(coeffs, xb); got != want {
			t.Fatalf("evaluate at %#x = %#x, want %#x", x, got, want)
		}
	}
	if got := evaluate(coeffs, 0); got != 7 {
		t.Fatalf("p(0) = %d, want the constant term 7", got)
	}
}
