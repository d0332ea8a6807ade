package planner

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/syncd"
)

// benchInput builds n resources, half Make connections and half Patchworks
// connectors, with realistic specs (1–5 KB each), all bound, and every
// tenth one with differences in its live state.
func benchInput(tb testing.TB, n int) (Input, int) {
	in := Input{Rules: testRules, Bindings: map[syncd.Key]syncd.Binding{}, Hasher: testHasher}
	size := 0
	for i := range n {
		var d *syncd.Desired
		var live map[string]any
		if i%2 == 0 {
			d, live = benchMake(i)
		} else {
			d, live = benchPatchworks(i)
		}
		b, err := json.Marshal(d.Spec)
		if err != nil {
			tb.Fatal(err)
		}
		size += len(b)
		// The live side is decoded from JSON, as a client would do.
		lb, _ := json.Marshal(live)
		var ls map[string]any
		if err := json.Unmarshal(lb, &ls); err != nil {
			tb.Fatal(err)
		}
		rid := fmt.Sprint("r", i)
		if i%10 == 0 {
			benchDrift(d.Key.Kind, ls)
		}
		in.Desired = append(in.Desired, d)
		in.Live = append(in.Live, syncd.Live{Kind: d.Key.Kind, RemoteID: rid, Spec: ls})
		in.Bindings[d.Key] = syncd.Binding{Key: d.Key, RemoteID: rid}
	}
	return in, size / n
}

func benchMake(i int) (*syncd.Desired, map[string]any) {
	params := []any{}
	for j := range 8 {
		params = append(params, map[string]any{"name": fmt.Sprint("param", j), "type": "text", "label": fmt.Sprintf("Parameter %d of the connection", j),
			"required": j%2 == 0, "help": "Shown below the field in the connection dialog."})
	}
	api := map[string]any{
		"preauthorize": map[string]any{"url": "https://acme.example/oauth/pre", "method": "POST", "body": map[string]any{"scope": "{{join(oauth.scope, ' ')}}"}},
		"authorize": map[string]any{"url": "https://acme.example/oauth/authorize", "qs": map[string]any{
			"client_id": "{{common.clientId}}", "redirect_uri": "{{oauth.redirectUri}}", "response_type": "code", "scope": "{{join(oauth.scope, ' ')}}"},
			"response": map[string]any{"temp": map[string]any{"code": "{{query.code}}"}}},
		"token": map[string]any{"url": "https://acme.example/oauth/token", "method": "POST", "type": "urlencoded",
			"body": map[string]any{"grant_type": "authorization_code", "code": "{{temp.code}}", "client_id": "{{common.clientId}}",
				"client_secret": "{{common.clientSecret}}", "redirect_uri": "{{oauth.redirectUri}}"},
			"response": map[string]any{"data": map[string]any{"accessToken": "{{body.access_token}}", "refreshToken": "{{body.refresh_token}}",
				"expires": "{{addSeconds(now, body.expires_in)}}"}}},
		"info":       map[string]any{"url": "https://acme.example/api/me", "headers": map[string]any{"authorization": "Bearer {{connection.accessToken}}"}},
		"refresh":    map[string]any{"condition": "{{data.expires < addMinutes(now, 1)}}", "url": "https://acme.example/oauth/token", "method": "POST"},
		"invalidate": map[string]any{"url": "https://acme.example/oauth/revoke", "method": "POST"},
	}
	spec := map[string]any{
		"app": "acme-crm", "type": "oauth", "label": fmt.Sprintf("ACME CRM %d", i), "connectedSystemName": nil,
		"sections": map[string]any{"api": api, "parameters": params,
			"scopes": map[string]any{"read": "Read your data", "write": "Change your data"}, "scope": []any{"read", "write"}},
		"common": map[string]any{"clientId": fmt.Sprint("client-", i), "clientSecret": fmt.Sprint("secret-", i)},
	}
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: fmt.Sprint("make-", i)}, Spec: spec,
		Sensitive: []string{"/common/clientSecret"}}
	live := map[string]any{}
	for k, v := range spec {
		live[k] = v
	}
	live["name"], live["appVersion"] = fmt.Sprint("r", i), 3
	return d, live
}

func benchPatchworks(i int) (*syncd.Desired, map[string]any) {
	vars := map[string]any{}
	liveVars := map[string]any{}
	for j := range 10 {
		key := fmt.Sprint("variable_", j)
		v := map[string]any{"key": key, "value": fmt.Sprintf("value-%d-%d.example.com", i, j), "label": fmt.Sprintf("Variable %d", j),
			"secret": false, "locked": false, "pivot": map[string]any{"alias": fmt.Sprint("v", j), "configurable": true, "required": j < 3, "advanced": false}}
		vars[key] = v
		lv := map[string]any{"id": 1000*i + j}
		for k, x := range v {
			lv[k] = x
		}
		liveVars[key] = lv
	}
	spec := map[string]any{"name": fmt.Sprintf("Shopify %d", i), "authentication_implementation_id": "42", "timezone": "Europe/London",
		"date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60.0, "connection_pool_id": nil, "variables": vars}
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: fmt.Sprint("pw-", i)}, Spec: spec}
	live := map[string]any{}
	for k, v := range spec {
		live[k] = v
	}
	live["id"], live["created_at"], live["updated_at"], live["variables"] = i, "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", liveVars
	return d, live
}

func benchDrift(kind syncd.Kind, ls map[string]any) {
	if kind == syncd.MakeConnection {
		ls["label"] = "changed by hand"
		api := ls["sections"].(map[string]any)["api"].(map[string]any)
		api["token"].(map[string]any)["url"] = "https://old.example/token"
		ls["common"].(map[string]any)["clientSecret"] = "rotated"
		return
	}
	ls["timezone"] = "UTC"
	v := ls["variables"].(map[string]any)["variable_3"].(map[string]any)
	v["value"] = "changed"
}

// BenchmarkBuild10k plans 10,000 resources; it reports the cost per
// resource (ns/resource, allocs/resource, B/resource).
func BenchmarkBuild10k(b *testing.B) {
	const n = 10000
	in, avg := benchInput(b, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ResetTimer()
	var p *Plan
	for b.Loop() {
		p = Build(in)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	if p.Summary.Update != n/10 || p.Summary.Noop != n-n/10 {
		b.Fatalf("unexpected plan: %+v", p.Summary)
	}
	total := float64(b.N * n)
	b.ReportMetric(float64(avg), "spec-bytes/resource")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/resource")
	// CPU time (GC included) says more than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/resource")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/resource")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/resource")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
