package desired

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// TestReadUpTo: the size a file claims only sizes the buffer; what is read
// is the content, cut at the limit (which shows a file over it).
func TestReadUpTo(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		claimed   int64
		limit     int64
		oneByte   bool // the reader returns a byte per call
		wantBytes string
	}{
		{"size as claimed", "hello", 5, 6, false, "hello"},
		{"grew after the stat", "hello, world", 5, 100, false, "hello, world"},
		{"claims nothing (/proc)", "hello", 0, 100, false, "hello"},
		{"shrank", "he", 5, 100, false, "he"},
		{"longer than the limit stops at it", "hello, world", 5, 6, false, "hello,"},
		{"short reads", "hello, world", 3, 100, true, "hello, world"},
		{"empty", "", 0, 10, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.content)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := readUpTo(r, tt.claimed, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantBytes, string(got)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
	if _, err := readUpTo(iotest.ErrReader(io.ErrUnexpectedEOF), 5, 10); err != io.ErrUnexpectedEOF {
		t.Errorf("err = %v, want the reader's error", err)
	}
}
