package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSecurityValidateFlags: the loader's bounds are set by the environment
// and by flags (flags win), and a fifo among the manifests no longer hangs
// `syncd validate`.
func TestSecurityValidateFlags(t *testing.T) {
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "tok"), []byte("mounted"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata: {name: ok}\n" +
		"spec: {app: a, type: apikey, label: L, common: {token: '${file:" + filepath.Join(secrets, "tok") + "}'}}\n"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"secret directory not listed", []string{"validate", "--manifests", dir}, nil, 1},
		{"secret directory from the environment", []string{"validate", "--manifests", dir}, map[string]string{"SYNCD_SECRET_DIRS": "/nowhere:" + secrets}, 0},
		{"secret directory from the flag", []string{"--secret-dirs", secrets, "validate", "--manifests", dir}, nil, 0},
		{"manifest limit from the environment", []string{"validate", "--manifests", dir}, map[string]string{"SYNCD_SECRET_DIRS": secrets, "SYNCD_MAX_MANIFEST_BYTES": "100"}, 1},
		{"the flag overrides the environment", []string{"--max-manifest-bytes", "100000", "validate", "--manifests", dir}, map[string]string{"SYNCD_SECRET_DIRS": secrets, "SYNCD_MAX_MANIFEST_BYTES": "100"}, 0},
		{"secret limit", []string{"--max-secret-bytes", "3", "validate", "--manifests", dir}, map[string]string{"SYNCD_SECRET_DIRS": secrets}, 1},
		{"total limit", []string{"--max-total-bytes", "100", "validate", "--manifests", dir}, map[string]string{"SYNCD_SECRET_DIRS": secrets}, 1},
		{"fifo", []string{"validate", "--manifests", fifoDir}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			done := make(chan int, 1)
			go func() { done <- run(context.Background(), tt.args) }()
			select {
			case got := <-done:
				if got != tt.want {
					t.Errorf("exit %d, want %d", got, tt.want)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("syncd validate did not return within 60 s")
			}
		})
	}
}
