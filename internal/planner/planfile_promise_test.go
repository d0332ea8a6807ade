package planner

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/syncd"
)

// TestPlanFileRefusesARepeatedChange: a plan file naming one resource twice
// is refused, so that an apply never runs the same change twice.
func TestPlanFileRefusesARepeatedChange(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(validPlanFile(t)), &m); err != nil {
		t.Fatal(err)
	}
	cs, _ := m["changes"].([]any)
	if len(cs) == 0 {
		t.Fatal("the valid plan file has no changes")
	}
	m["changes"] = append([]any{cs[0]}, cs...)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ReadPlanFile(strings.NewReader(string(data)), testKinds)
	if err == nil || !strings.Contains(err.Error(), "repeat") {
		t.Errorf("error %v, want one about a repeated change", err)
	}
}

// TestPlanFileWriteRefusesAChangeWithoutKind: a plan is not saved with a
// change that names no kind, since no apply could tell which API it is for.
func TestPlanFileWriteRefusesAChangeWithoutKind(t *testing.T) {
	p := &Plan{Changes: []Change{{Key: syncd.Key{Name: "a"}, Action: ActionCreate}}}
	err := WritePlanFile(io.Discard, p, goldenMeta)
	if err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("error %v, want one naming the kind", err)
	}
}

// TestPlanFileOfExactlyTheLimitIsRead: the size limit refuses a file one
// byte over it and reads one of exactly its size whole.
func TestPlanFileOfExactlyTheLimitIsRead(t *testing.T) {
	data := validPlanFile(t)
	defer func(old int64) { maxPlanFile = old }(maxPlanFile)

	maxPlanFile = int64(len(data))
	if _, _, err := ReadPlanFile(strings.NewReader(data), testKinds); err != nil {
		t.Errorf("a plan file of exactly the limit (%d bytes): %v", len(data), err)
	}
	maxPlanFile = int64(len(data)) - 1
	_, _, err := ReadPlanFile(strings.NewReader(data), testKinds)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a plan file one byte over the limit: error %v, want one saying it is larger", err)
	}
}
