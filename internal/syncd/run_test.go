package syncd

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRunStampsItsEvents(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k := Key{Kind: MakeConnection, Name: "alpha"}
	fields := []FieldChange{{Path: "/label", Before: "a", After: "b"}}
	run := NewRun(ModeApply, "ann@host", "rev1")
	other := NewRun(ModeApply, "ann@host", "rev1")
	if run.ID == "" || len(run.ID) != 32 || run.ID == other.ID {
		t.Fatalf("run ids %q and %q: want two different 32-digit ids", run.ID, other.ID)
	}
	for _, tc := range []struct {
		name   string
		got    Event
		want   Event
		wantID string // "" means a fresh random id
	}{
		{
			name: "run event",
			got:  run.Event(at, EventRunStarted, Key{}, "", "", nil, "started", ""),
			want: Event{OccurredAt: at, RunID: run.ID, Type: EventRunStarted, Outcome: "started",
				ManifestRevision: "rev1", Mode: ModeApply, Actor: "ann@host"},
		},
		{
			name: "resource event",
			got:  run.Event(at, EventChangeFailed, k, "r-1", "update", fields, "failed", "boom"),
			want: Event{OccurredAt: at, RunID: run.ID, Type: EventChangeFailed, Kind: k.Kind, Name: k.Name,
				RemoteID: "r-1", Action: "update", Changes: fields, Outcome: "failed", Error: "boom",
				ManifestRevision: "rev1", Mode: ModeApply, Actor: "ann@host"},
		},
		{
			name: "drift opened",
			got:  run.DriftEvent(at, 7, EventDriftDetected, k, "r-1", fields, "open"),
			want: Event{OccurredAt: at, RunID: run.ID, Type: EventDriftDetected, Kind: k.Kind, Name: k.Name,
				RemoteID: "r-1", Changes: fields, Outcome: "open", ManifestRevision: "rev1", Mode: ModeApply, Actor: "ann@host"},
			wantID: "drift-7-detected",
		},
		{
			name: "drift resolved",
			got:  run.DriftEvent(at, 7, EventDriftResolved, k, "r-1", fields, "apply"),
			want: Event{OccurredAt: at, RunID: run.ID, Type: EventDriftResolved, Kind: k.Kind, Name: k.Name,
				RemoteID: "r-1", Changes: fields, Outcome: "apply", ManifestRevision: "rev1", Mode: ModeApply, Actor: "ann@host"},
			wantID: "drift-7-resolved",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got, cmpopts.IgnoreFields(Event{}, "ID")); diff != "" {
				t.Errorf("event (-want +got)\n%s", diff)
			}
			switch {
			case tc.wantID != "" && tc.got.ID != tc.wantID:
				t.Errorf("id %q, want %q", tc.got.ID, tc.wantID)
			case tc.wantID == "" && (len(tc.got.ID) != 32 || tc.got.ID == run.ID):
				t.Errorf("id %q: want a fresh 32-digit id", tc.got.ID)
			}
		})
	}
}
