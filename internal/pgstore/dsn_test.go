package pgstore

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckDatabaseURL(t *testing.T) {
	tests := []struct {
		dsn  string
		want string // "" = valid; else a part of the error
	}{
		{"postgres://u:pw@db.example:5432/syncd", ""},
		{"postgresql://u@db.example/syncd?sslmode=disable", ""},
		{"postgres:///syncd", ""},
		{"postgres://u:p%40ss@[::1]:5432/syncd", ""},
		{"postgres://h1:5432,h2:5433/syncd", ""},
		{"host=/tmp dbname=syncd", ""},
		{"", "empty"},
		{"db.example/syncd", "no scheme"},
		{"mysql://u:hunter2@db.example/syncd", `scheme is "mysql"`},
		{"http://db.example/syncd", `scheme is "http"`},
		{"postgres://u:hunter2@db.example:54x2/syncd", `port "54x2"`},
		{"postgres://u:hunter2@db.example:99999/syncd", `port "99999"`},
		{"postgres://u:hunter2@:5432/syncd", "no host"},
		{"postgres://u:hunter2@[::1/syncd", "unclosed"},
		{"postgres://u:hunter2@db example/syncd", "not a host name"},
	}
	for _, tt := range tests {
		err := CheckDatabaseURL(tt.dsn)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckDatabaseURL(%q) = %v, want nil", tt.dsn, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckDatabaseURL(%q) = %v, want an error with %q", tt.dsn, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("CheckDatabaseURL(%q) quotes the password: %v", tt.dsn, err)
		}
	}
}

// TestReaderOnStoppedDatabase: a read-only store says the database is
// unreachable, where, and nothing about a spool it does not have.
func TestReaderOnStoppedDatabase(t *testing.T) {
	_, err := Open(context.Background(), "postgres://syncd:hunter2@127.0.0.1:1/syncd?connect_timeout=2", Options{ReadOnly: true})
	if err == nil {
		t.Fatal("opened a reader on a closed port")
	}
	msg := err.Error()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(msg, "127.0.0.1:1/syncd is unreachable") ||
		strings.Contains(msg, "spool") || strings.Contains(msg, "hunter2") {
		t.Fatalf("error: %v", err)
	}
}
