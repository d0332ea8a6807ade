package manifest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/syncd"
)

// EnvFor names the variable for a secret: SYNCD_<NAME>_<FIELD>.
func EnvFor(name string, field ...string) string {
	return "SYNCD_" + envPart(name) + "_" + envPart(strings.Join(field, "_"))
}

func envPart(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// ValueNode renders a canonical JSON value, replacing secrets by pointer.
func ValueNode(v any, ptr string, secrets map[string]string) *yaml.Node {
	if env, ok := secrets[ptr]; ok {
		return Str("${env:" + env + "}")
	}
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case string:
		return Str(x)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, e := range x {
			n.Content = append(n.Content, ValueNode(e, ptr+"/"+strconv.Itoa(i), secrets))
		}
		return n
	case map[string]any:
		n := Mapping()
		for _, k := range SortedKeys(x) {
			n.Content = append(n.Content, Str(k), ValueNode(x[k], ptr+"/"+syncd.EscapePointerToken(k), secrets))
		}
		return n
	}
	// Not canonical: render its text rather than fail an import.
	return Str(fmt.Sprint(v))
}

// Str is a string scalar, quoted where a YAML 1.1 reader would take it for
// something else.
func Str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	case yaml11Bool[strings.ToLower(s)]:
		// Plain in YAML 1.2, but YAML 1.1 readers (and people) take them
		// for booleans.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var yaml11Bool = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true}

// Mapping is a mapping of string keys and nodes, given in turn.
func Mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, Str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

// SortedKeys lists m's keys in order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
