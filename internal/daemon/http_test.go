package daemon_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// The HTTP endpoints: /healthz at once, /readyz 503 until the first
// reconcile and 200 after, /metrics with the documented series, /v1/status
// with the last run, its plan summary and the open drifts — and none of
// them, nor the log, shows a secret value, even while a secret has drifted.
func TestHTTPEndpoints(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	applyAll(t, env)
	db := pool(t, env)
	alpha := remoteID(t, db, syncd.MakeConnection, "alpha")
	// Someone changes the client secret in Make's console.
	const liveSecret = "live-secret-CCCC-never-print"
	if err := env.Emu.EditMakeConnection(alpha, emulator.MakeEdit{Common: map[string]any{"clientId": "id-alpha", "clientSecret": liveSecret}}); err != nil {
		t.Fatal(err)
	}

	// Ready runs before the daemon's first reconcile is queued, so what it
	// sees is the state before any reconcile.
	type answer struct {
		code int
		err  error
	}
	var early map[string]answer
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport, Ready: func(addr string) {
		early = map[string]answer{}
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get("http://" + addr + p)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				early[p] = answer{code: resp.StatusCode}
			} else {
				early[p] = answer{err: err}
			}
		}
	}})
	if early["/healthz"].code != 200 || early["/readyz"].code != 503 {
		t.Errorf("before the first reconcile: /healthz %+v, /readyz %+v; want 200 and 503", early["/healthz"], early["/readyz"])
	}
	d.waitReady(t)
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz answered %d", code)
	}

	st := d.status(t)
	if st.LastRun == nil || st.LastRun.ID == "" || st.LastRun.Trigger != "startup" || st.LastRun.Outcome != "ok" {
		t.Errorf("last run %+v, want the startup run, ok", st.LastRun)
	}
	if st.Summary == nil {
		t.Error("no plan summary")
	} else if st.Summary.Adopt+st.Summary.Update != 1 || st.Summary.Noop != 1 {
		t.Errorf("plan summary %+v, want one changed and one noop", *st.Summary)
	}
	if st.Mode != syncd.ModeReport || !st.Leader || st.LastSuccess == nil {
		t.Errorf("status mode %q leader %v last success %v", st.Mode, st.Leader, st.LastSuccess)
	}
	var drifts []string
	for _, o := range st.OpenDrifts {
		drifts = append(drifts, o.Resource+" "+o.RemoteID+" "+strings.Join(o.Fields, ","))
	}
	if diff := cmp.Diff([]string{"MakeConnection/alpha " + alpha + " /common/clientSecret"}, drifts); diff != "" {
		t.Errorf("open drifts (-want +got):\n%s", diff)
	}

	code, status := d.get(t, "/v1/status")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(status), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"last_run", "plan_summary", "open_drifts", "full_scan"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/v1/status (%d) has no %q: %s", code, k, status)
		}
	}
	// The startup scan sized the full scan: its reads per platform and
	// each platform's allowance per minute (the test's configured rate).
	var fs daemon.FullScan
	if err := json.Unmarshal(raw["full_scan"], &fs); err != nil {
		t.Fatalf("full_scan: %v: %s", err, raw["full_scan"])
	}
	if fs.Requests["make"] == 0 || fs.Requests["patchworks"] == 0 || fs.PerMinute["make"] == 0 || fs.PerMinute["patchworks"] == 0 || fs.Seconds < 0 {
		t.Errorf("full_scan = %+v, want reads and allowances for both platforms", fs)
	}

	code, metrics := d.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
	for _, want := range []string{
		`syncd_runs_total{outcome="ok",trigger="startup"} 1`,
		`syncd_api_requests_total{platform="make",status="200"}`,
		`syncd_api_requests_total{platform="patchworks",status="200"}`,
		"syncd_open_drifts 1",
		"syncd_audit_spool_depth 0",
		"syncd_last_successful_scan_timestamp_seconds ",
		"syncd_run_duration_seconds_bucket",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "syncd_last_successful_scan_timestamp_seconds 0\n") {
		t.Error("last successful scan time not set after a full scan")
	}

	_, healthz := d.get(t, "/healthz")
	_, readyz := d.get(t, "/readyz")
	for where, body := range map[string]string{"/healthz": healthz, "/readyz": readyz, "/metrics": metrics, "/v1/status": status, "log": d.logs.String()} {
		noSecrets(t, where, body, liveSecret)
	}
	// The audit rows of the drift are redacted too.
	var changes string
	if err := db.QueryRow(t.Context(), `select coalesce(string_agg(changes::text, ' '), '') from audit_events`).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "audit changes", changes, liveSecret)
}
