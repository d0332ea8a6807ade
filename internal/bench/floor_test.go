package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform/transport"
)

// The floors are what the plan's input costs alone, on this machine:
// reading the manifest files, and the same number of GETs through syncd's
// HTTP client (transport.NewHTTPClient), bare. A third figure is a reference, not a floor: decoding the files
// with go.yaml.in/yaml/v4, which plain block manifests no longer go through
// (desired.quickParse). Each runs in a child process (this test binary,
// through TestFloorChild), so that the emulator serving this process is not
// counted, as it is not for syncd plan.

const floorEnv = "SYNCD_BENCH_FLOOR"

// TestFloorChild is the child process of floorCPU; run by go test, it does
// nothing.
func TestFloorChild(t *testing.T) {
	var err error
	switch os.Getenv(floorEnv) {
	case "":
		return
	case "files":
		err = readAll(os.Getenv(floorEnv+"_DIR"), nil)
	case "yaml":
		err = readAll(os.Getenv(floorEnv+"_DIR"), decode)
	case "http":
		n, _ := strconv.Atoi(os.Getenv(floorEnv + "_N"))
		err = getAll(os.Getenv(floorEnv+"_URL"), os.Getenv(floorEnv+"_APPS"), n, 16)
	default:
		err = fmt.Errorf("unknown floor %q", os.Getenv(floorEnv))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// floorCPU runs TestFloorChild with env and returns its CPU time.
func floorCPU(env ...string) (time.Duration, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloorChild$", "-test.count=1")
	cmd.Env = append(cleanEnv(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("floor %v: %v: %s", env, err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.New("no rusage on this platform")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// readAll reads every .yaml file under dir, and with use, hands each one's
// bytes to it.
func readAll(dir string, use func(path string, b []byte) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || use == nil {
			return err
		}
		return use(p, b)
	})
}

// decode decodes every document of b into a yaml.Node: what the YAML
// library costs a loader that reports positions.
func decode(p string, b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		switch err := dec.Decode(&n); {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("%s: %w", p, err)
		}
	}
}

// getAll lists the connections of apps (comma-separated) on the emulator
// at base and then makes n GETs of their details (two sections and common,
// as a plan reads them), conc at a time over reused connections, reading
// each body.
func getAll(base, apps string, n, conc int) error {
	c := transport.NewHTTPClient(conc) // syncd's own HTTP client, bare
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequest(http.MethodGet, base+"/api/v2"+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Token "+emulator.DefaultMakeToken)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, err
	}
	var paths []string
	for _, app := range strings.Split(apps, ",") {
		b, err := get("/sdk/apps/" + url.PathEscape(app) + "/connections")
		if err != nil {
			return err
		}
		var list struct {
			AppConnections []struct{ Name string } `json:"appConnections"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		for _, conn := range list.AppConnections {
			for _, part := range []string{"api", "parameters", "common"} {
				paths = append(paths, "/sdk/apps/connections/"+url.PathEscape(conn.Name)+"/"+part)
			}
		}
	}
	if len(paths) == 0 {
		return errors.New("no connections to read")
	}
	next := make(chan string)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for p := range next {
				if _, err := get(p); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		})
	}
	for i := range n {
		next <- paths[i%len(paths)]
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
