package config

// interpolateIn interpolates value as the key "\x00" of a section whose other keys are vars.
func interpolateIn(value string, vars map[string]string) (string, error) {
	templates := map[string]*template{"\x00": parseTemplate(value)}
	for k, v := range vars {
		templates[k] = parseTemplate(v)
	}
	budget := MaxEffectiveSize
	sec := &Section{own: &rawSection{templates: templates}}
	r := &resolver{sec: sec, memo: map[string]*resolved{}, budget: &budget}
	return r.value("\x00")
}
