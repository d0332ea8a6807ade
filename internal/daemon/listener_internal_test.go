package daemon

import "testing"

func TestMaxConnsKeepsAReserve(t *testing.T) {
	tests := []struct {
		name   string
		want   int
		nofile uint64
		got    int
	}{
		{"default under a large limit", 0, 1 << 20, DefaultMaxConns},
		{"asked under a large limit", 500, 1 << 20, 500},
		{"limit leaves room for the reserve only", 500, FDReserve + 100, 100},
		{"limit below the reserve still serves one", 500, 100, 1},
		{"unknown limit", 10, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxConns(tt.want, tt.nofile); got != tt.got {
				t.Fatalf("maxConns(%d, %d) = %d, want %d", tt.want, tt.nofile, got, tt.got)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"[::1]:8080", "", true},
		{"localhost:8080", "", true},
		{":8080", "", false},
		{"0.0.0.0:8080", "", false},
		{"10.1.2.3:8080", "", false},
		{"[::]:8080", "", false},
		{"0.0.0.0:8080", "tok", true},
	}
	for _, tt := range tests {
		if err := checkListen(tt.addr, tt.token); (err == nil) != tt.ok {
			t.Errorf("checkListen(%q, %q) = %v, want ok %v", tt.addr, tt.token, err, tt.ok)
		}
	}
}

func TestResourceText(t *testing.T) {
	for msg, want := range map[string]bool{
		"cannot read: too many open files":           true,
		"cannot read: too many open files in system": true,
		"cannot read: cannot allocate memory":        true,
		"cannot read: permission denied":             false,
		`unknown field "x": too many open files x`:   false,
	} {
		if got := resourceText(msg); got != want {
			t.Errorf("resourceText(%q) = %v", msg, got)
		}
	}
}
