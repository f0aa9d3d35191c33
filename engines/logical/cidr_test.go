package logical

import "testing"

func TestAddrAllowed(t *testing.T) {
	tests := []struct {
		addr  string
		cidrs []string
		want  bool
	}{
		{"10.1.2.3", nil, true},
		{"10.1.2.3", []string{"10.0.0.0/8"}, true},
		{"10.1.2.3:5555", []string{"10.0.0.0/8"}, true},
		{"11.1.2.3", []string{"10.0.0.0/8"}, false},
		{"192.168.1.1", []string{"192.168.1.1"}, true},
		{"192.168.1.2", []string{"192.168.1.1"}, false},
		{"::ffff:10.1.2.3", []string{"10.0.0.0/8"}, true},
		{"[2001:db8::1]:80", []string{"2001:db8::/32"}, true},
		{"", []string{"10.0.0.0/8"}, false},
		{"garbage", []string{"10.0.0.0/8"}, false},
	}
	for _, tt := range tests {
		if got := AddrAllowed(tt.addr, tt.cidrs); got != tt.want {
			t.Errorf("AddrAllowed(%q, %v) = %v, want %v", tt.addr, tt.cidrs, got, tt.want)
		}
	}
}
