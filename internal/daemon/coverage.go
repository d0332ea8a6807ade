package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// CoverageStatus is /v1/status's count of managed and unmanaged live
// objects at the last full scan.
type CoverageStatus struct {
	Managed         int                                 `json:"managed"`
	Unmanaged       int                                 `json:"unmanaged"`
	CoveragePercent float64                             `json:"coverage_percent"`
	ByPlatform      map[string]planner.PlatformCoverage `json:"by_platform"`
}

// coverageMetrics are the gauges of the last full scan's coverage.
type coverageMetrics struct {
	managed   *prometheus.GaugeVec
	unmanaged *prometheus.GaugeVec
	coverage  prometheus.Gauge
}

func (m *metrics) newCoverageMetrics() {
	m.managed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "syncd_managed_objects", Help: "Live objects a manifest declares, at the last full scan, by platform.",
	}, []string{"platform"})
	m.unmanaged = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "syncd_unmanaged_objects", Help: "Live objects no manifest declares (of those listed: every Patchworks connector, the connections of each Make app a manifest uses), at the last full scan, by platform.",
	}, []string{"platform"})
	m.coverage = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "syncd_coverage_percent", Help: "Managed live objects out of all listed ones, in percent, at the last full scan.",
	})
}

// platformLabel is the platform name the request metrics use too.
func platformLabel(k syncd.Kind) string {
	if p, ok := registry.For(k); ok {
		return p.Name()
	}
	return string(k)
}

// observeCoverage sets the gauges from c and returns its status form.
func (m *metrics) observeCoverage(c *planner.Coverage) *CoverageStatus {
	st := &CoverageStatus{Managed: c.Managed, Unmanaged: len(c.Unmanaged), CoveragePercent: c.Percent(), ByPlatform: map[string]planner.PlatformCoverage{}}
	for _, p := range registry.All() {
		k := p.Kind()
		pc := c.ByPlatform[k]
		st.ByPlatform[platformLabel(k)] = pc
		m.managed.WithLabelValues(platformLabel(k)).Set(float64(pc.Managed))
		m.unmanaged.WithLabelValues(platformLabel(k)).Set(float64(pc.Unmanaged))
	}
	m.coverage.Set(c.Percent())
	return st
}
