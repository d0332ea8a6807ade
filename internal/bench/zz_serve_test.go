package bench

import (
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
)

func TestZZServe(t *testing.T) {
	if os.Getenv("ZZSERVE") == "" {
		return
	}
	f := Fleet{Make: 5000, Apps: 50, Patchworks: 5000}
	emu := emulator.New(emulator.Options{Seed: 1})
	srv := httptest.NewServer(emu)
	dir := "/tmp/fleet/dir"
	os.RemoveAll(dir)
	if err := f.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Seed(f.Seed()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/fleet/d.url", []byte(srv.URL), 0o644)
	time.Sleep(3 * time.Hour)
}
