package syncd

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// sameByDecoding is what SameJSON stands for: text decodes (as
// encoding/json does) to a value that ShareDesired swaps whole for desired.
func sameByDecoding(text []byte, desired any) bool {
	var v any
	if json.Unmarshal(text, &v) != nil {
		return false
	}
	_, whole := share(v, desired)
	return whole
}

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// TestSameJSONReadsWhatClientsGet: the texts a platform sends back for a
// value syncd wrote (compact, indented as syncd writes sections, escaped
// as PHP escapes slashes) are read, and found equal to the value.
func TestSameJSONReadsWhatClientsGet(t *testing.T) {
	for _, tc := range []struct{ text, desired string }{
		{`{"headers":{"x-api-key":"{{connection.apiKey}}"},"url":"https://api.example.com/v1/00000"}`,
			`{"url":"https://api.example.com/v1/00000","headers":{"x-api-key":"{{connection.apiKey}}"}}`},
		{"[\n  {\n    \"label\": \"API key\",\n    \"name\": \"apiKey\",\n    \"type\": \"password\"\n  }\n]", `[{"name":"apiKey","type":"password","label":"API key"}]`},
		{`{"url":"https:\/\/x.example.com\/a","q":"say \"hi\"\n\ttab\\ \b\f\r"}`, `{"url":"https://x.example.com/a","q":"say \"hi\"\n\ttab\\ \b\f\r"}`},
		{` {"n": [0, -0.5, 1e3, 2E-2, -0, 12345678901234567890, 1.5e+2]} `, `{"n":[0,-0.5,1000,0.02,-0,12345678901234567890,150]}`},
		{`{"b": true, "f": false, "z": null, "e": {}, "l": [], "s": ""}`, `{"b":true,"f":false,"z":null,"e":{},"l":[],"s":""}`},
		{`"grüße ✓"`, `"grüße ✓"`},
		{`[[[[1]]]]`, `[[[[1]]]]`},
		{`true`, `true`},
		{`false`, `false`},
		{`null`, `null`},
		{`-12.5e-1`, `-1.25`},
		{strings.Repeat("[", maxSameDepth) + "1" + strings.Repeat("]", maxSameDepth), strings.Repeat("[", maxSameDepth) + "1" + strings.Repeat("]", maxSameDepth)},
	} {
		d := decodeJSON(t, tc.desired)
		if !SameJSON([]byte(tc.text), d) {
			t.Errorf("SameJSON(%s) = false, want true", tc.text)
		}
		if !sameByDecoding([]byte(tc.text), d) {
			t.Fatalf("case is wrong: %s does not decode to %s", tc.text, tc.desired)
		}
	}
}

// TestSameJSONSaysFalseWhenInDoubt: every difference is false, and so is
// everything SameJSON leaves to the decoder; where the decoder would
// agree, the case says so, to show the answer is "decode", not "differs".
func TestSameJSONSaysFalseWhenInDoubt(t *testing.T) {
	many := func(n int) (string, map[string]any) {
		var b strings.Builder
		m := map[string]any{}
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			k := "k" + strings.Repeat("x", i)
			b.WriteString(`"` + k + `":1`)
			m[k] = 1.0
		}
		b.WriteString("}")
		return b.String(), m
	}
	big, bigMap := many(maxSameKeys + 1)
	fits, fitsMap := many(maxSameKeys)
	if !SameJSON([]byte(fits), fitsMap) {
		t.Errorf("an object of %d keys is not read", maxSameKeys)
	}
	deep := strings.Repeat("[", maxSameDepth+2) + strings.Repeat("]", maxSameDepth+2)
	justTooDeep := strings.Repeat("[", maxSameDepth+1) + "1" + strings.Repeat("]", maxSameDepth+1)
	deepObjects := strings.Repeat(`{"a":`, maxSameDepth+1) + "1" + strings.Repeat("}", maxSameDepth+1)
	for _, tc := range []struct {
		name, text string
		desired    any
		decodes    bool // the decoder finds them equal
	}{
		{"other string", `"a"`, "b", false},
		{"longer string", `"ab"`, "a", false},
		{"shorter string", `"a"`, "ab", false},
		{"number vs string", `1`, "1", false},
		{"string vs number", `"1"`, 1.0, false},
		{"int desired", `1`, 1, false},
		{"int64 desired", `1`, int64(1), false},
		{"other number", `1.5`, 1.25, false},
		{"zero's sign", `-0`, 0.0, false},
		{"zero's sign the other way", `0`, math.Copysign(0, -1), false},
		{"true vs false", `true`, false, false},
		{"false vs true", `false`, true, false},
		{"null vs object", `null`, map[string]any{}, false},
		{"object vs null", `{}`, nil, false},
		{"nil map", `{}`, map[string]any(nil), false},
		{"nil list", `[]`, []any(nil), false},
		{"list vs object", `[]`, map[string]any{}, false},
		{"extra key", `{"a":1,"b":2}`, map[string]any{"a": 1.0}, false},
		{"missing key", `{"a":1}`, map[string]any{"a": 1.0, "b": 2.0}, false},
		{"duplicate key hides a missing one", `{"a":1,"a":1}`, map[string]any{"a": 1.0, "b": 1.0}, false},
		{"duplicate key, last wins", `{"a":2,"a":1}`, map[string]any{"a": 1.0}, true},
		{"longer list", `[1,2]`, []any{1.0}, false},
		{"shorter list", `[1]`, []any{1.0, 2.0}, false},
		{"unicode escape", `"\u0041"`, "A", true},
		{"escaped key", `{"\u0061":1}`, map[string]any{"a": 1.0}, true},
		{"escape in key", `{"a\/b":1}`, map[string]any{"a/b": 1.0}, true},
		{"unknown escape", `"\x"`, "x", false},
		{"control character", "\"a\tb\"", "a\tb", false},
		{"not UTF-8", "\"\xff\"", "\uFFFD", true},
		{"comment (JSONC)", `{"a":1 /* x */}`, map[string]any{"a": 1.0}, false},
		{"trailing comma (JSONC)", `{"a":1,}`, map[string]any{"a": 1.0}, false},
		{"trailing comma in a list", `[1,]`, []any{1.0}, false},
		{"two values", `{} {}`, map[string]any{}, false},
		{"empty", ``, nil, false},
		{"blank", ` `, nil, false},
		{"unterminated string", `"abc`, "abc", false},
		{"unterminated object", `{"a":1`, map[string]any{"a": 1.0}, false},
		{"unterminated list", `[1`, []any{1.0}, false},
		{"missing colon", `{"a" 1}`, map[string]any{"a": 1.0}, false},
		{"key not a string", `{a:1}`, map[string]any{"a": 1.0}, false},
		{"unterminated key", `{"a`, map[string]any{"a": 1.0}, false},
		{"leading zero", `01`, 1.0, false},
		{"plus sign", `+1`, 1.0, false},
		{"bare minus", `-`, 0.0, false},
		{"dot without digits", `1.`, 1.0, false},
		{"exponent without digits", `1e`, 1.0, false},
		{"exponent sign without digits", `1e+`, 1.0, false},
		{"out of range", `1e400`, math.Inf(1), false},
		{"truncated true", `tru`, true, false},
		{"truncated null", `nul`, nil, false},
		{"too many keys", big, bigMap, true},
		{"too deep", deep, decodeJSON(t, deep), true},
		{"one level too deep", justTooDeep, decodeJSON(t, justTooDeep), true},
		{"objects too deep", deepObjects, decodeJSON(t, deepObjects), true},
		{"a word cut short inside", `[tru`, []any{true}, false},
		{"a word cut short at the end", `[fals`, []any{false}, false},
		{"an object opened and nothing more", `{`, map[string]any{}, false},
		{"an object opened, space", `{ `, map[string]any{}, false},
		{"a list opened and nothing more", `[`, []any{}, false},
		{"a list opened, space", `[ `, []any{}, false},
		{"the text ends after a comma", `{"a":1,`, map[string]any{"a": 1.0}, false},
		{"the text ends after a key", `{"a"`, map[string]any{"a": 1.0}, false},
		{"the text ends after a value in a list", `[1`, []any{1.0}, false},
		{"the text ends after a backslash", `"a\`, "a", false},
		{"separator missing in object", `{"a":1 "b":2}`, map[string]any{"a": 1.0, "b": 2.0}, false},
		{"separator missing in list", `[1 2]`, []any{1.0, 2.0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if SameJSON([]byte(tc.text), tc.desired) {
				t.Errorf("SameJSON(%q) = true", tc.text)
			}
			if got := sameByDecoding([]byte(tc.text), tc.desired); got != tc.decodes {
				t.Errorf("decoding finds them equal: %v, the case says %v", got, tc.decodes)
			}
		})
	}
}

// FuzzSameJSON: whenever SameJSON says true, decoding says the same; and
// for a value written back the way syncd and the emulator write it,
// SameJSON says true (the fast path is taken, not only safe).
func FuzzSameJSON(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":[1,"x",true,null,{}]}`, `{"a":[1,"x",true,null,{}]}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`"\/\n"`, `"/\n"`},
		{`-0`, `0`},
		{`[1e2]`, `[100]`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, text, desiredJSON string) {
		var desired any
		if json.Unmarshal([]byte(desiredJSON), &desired) != nil {
			return
		}
		if SameJSON([]byte(text), desired) && !sameByDecoding([]byte(text), desired) {
			t.Fatalf("SameJSON(%q, %s) = true, decoding disagrees", text, desiredJSON)
		}
		for _, enc := range []func(any) ([]byte, error){
			json.Marshal,
			func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") },
		} {
			b, err := enc(desired)
			if err != nil || strings.Contains(string(b), `\u`) || depthOf(desired) > maxSameDepth || widest(desired) > maxSameKeys {
				continue
			}
			if !SameJSON(b, desired) {
				t.Fatalf("SameJSON(%s) = false for its own encoding", b)
			}
		}
	})
}

func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
		return d + 1
	case []any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
		return d + 1
	}
	return 0
}

func widest(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		n = len(v)
		for _, e := range v {
			n = max(n, widest(e))
		}
	case []any:
		for _, e := range v {
			n = max(n, widest(e))
		}
	}
	return n
}

// TestSameJSONReadsNoBytePastTheText: a word cut short at the very end of
// a buffer with no spare capacity is read as cut short, not by looking
// past the text's end.
func TestSameJSONReadsNoBytePastTheText(t *testing.T) {
	for _, tc := range []struct {
		text string
		want any
	}{
		{"[tru", []any{true}},
		{"[fals", []any{false}},
		{"[nul", []any{nil}},
		{`{"a":tru`, map[string]any{"a": true}},
	} {
		b := make([]byte, len(tc.text)) // cap == len: a byte past the end would panic
		copy(b, tc.text)
		if SameJSON(b, tc.want) {
			t.Errorf("SameJSON(%q) = true", tc.text)
		}
	}
}
