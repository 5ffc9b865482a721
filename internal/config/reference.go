package config

import (
	"fmt"
	"strings"
)

// Reference returns the configuration reference as a Markdown table, from the key table.
// docs/configuration.md holds a copy between markers, which a test keeps current.
func Reference() string {
	var b strings.Builder
	b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	for _, k := range Keys {
		def := "*none*"
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, k.Kind(), def, strings.ReplaceAll(k.Doc, "|", `\|`))
	}
	return b.String()
}
