package page

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pipelined/internal/config"
	"pipelined/internal/workdir"
)

// BadgePath is where a ref's badge is, relative to the work directory, at a URL a person
// can write and any web server serves as it is: badges/PROJECT/branch/NAME.svg for
// refs/heads/NAME, badges/PROJECT/tag/NAME.svg for refs/tags/NAME, and
// badges/PROJECT/ref/REST.svg for any other refs/REST. A "/" in the name is written "~",
// which no ref name can hold (git check-ref-format), so each badge is one file and no two
// refs share one: the mapping is injective, and reversible.
func BadgePath(project, ref string) string {
	kind, name := "ref", strings.TrimPrefix(ref, "refs/")
	for prefix, k := range map[string]string{"refs/heads/": "branch", "refs/tags/": "tag"} {
		if rest, ok := strings.CutPrefix(ref, prefix); ok {
			kind, name = k, rest
		}
	}
	return config.BadgesDirName + "/" + project + "/" + kind + "/" + strings.ReplaceAll(name, "/", "~") + ".svg"
}

// writeBadge writes a ref's badge at BadgePath. A ref whose name is too long for one file
// name has only its badge in the ref's directory (status.svg).
func writeBadge(layout workdir.Layout, project, ref string, svg []byte) error {
	path := filepath.Join(layout.Root, filepath.FromSlash(BadgePath(project, ref)))
	if len(filepath.Base(path)) > 255 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return writeFile(path, svg)
}

// badge is a ref's status.svg: "build | RESULT", in the result's colour.
func badge(result string) []byte {
	const left = 44
	right := 8 + 7*len(result)
	return []byte(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="build: %[3]s">
<title>build: %[3]s</title>
<rect width="%[2]d" height="20" fill="#555"/>
<rect x="%[2]d" width="%[4]d" height="20" fill="%[5]s"/>
<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="6" y="14">build</text>
<text x="%[6]d" y="14">%[3]s</text>
</g>
</svg>
`, left+right, left, escaper.Replace(result), right, colour(result), left+4))
}
