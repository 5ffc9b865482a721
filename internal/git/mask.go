package git

import "strings"

// mask replaces a secret in a remote URL.
const mask = "***"

// MaskURL hides the credentials of a remote URL so that it can be logged (SPEC §9): a
// password becomes *** (https://user:***@host/p.git), and so does a user name without a
// password on http, https, ftp and ftps, where it is usually a token (https://***@host/p.git).
// The user of ssh:// and of scp-like user@host:path is kept: it is not a secret. Anything
// that is not a URL with credentials comes back unchanged.
func MaskURL(remote string) string {
	userinfo, start, ok := userinfoOf(remote)
	if !ok {
		return remote
	}
	return remote[:start] + maskUserinfo(remote, userinfo) + remote[start+len(userinfo):]
}

// MaskURLsIn scrubs text (git's own message, an error) that may quote remote: the remote
// itself and its "userinfo@" wherever it appears, since git quotes a URL in several shapes
// (with a trailing slash, without its path, …).
func MaskURLsIn(text, remote string) string {
	userinfo, _, ok := userinfoOf(remote)
	if !ok {
		return text
	}
	masked := maskUserinfo(remote, userinfo)
	if masked == userinfo {
		return text
	}
	text = strings.ReplaceAll(text, remote, MaskURL(remote))
	return strings.ReplaceAll(text, userinfo+"@", masked+"@")
}

// userinfoOf finds the "user[:password]" of a scheme://user[:password]@host/… URL and the
// offset where it starts. The authority ends at the first "/" only, so that a password
// holding "?" or "#" is still found; the userinfo ends at the last "@" before it, which
// hides more than git's first "@" when a password holds an unescaped "@".
func userinfoOf(remote string) (userinfo string, start int, ok bool) {
	scheme, rest, found := strings.Cut(remote, "://")
	if !found || scheme == "" || strings.ContainsAny(scheme, "/@:") {
		return "", 0, false
	}
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at <= 0 {
		return "", 0, false
	}
	return authority[:at], len(scheme) + len("://"), true
}

// maskUserinfo masks the password of userinfo, or for the schemes where a lone user name
// is a token, the user.
func maskUserinfo(remote, userinfo string) string {
	if user, _, hasPassword := strings.Cut(userinfo, ":"); hasPassword {
		return user + ":" + mask
	}
	scheme, _, _ := strings.Cut(remote, "://")
	switch strings.ToLower(scheme) {
	case "http", "https", "ftp", "ftps":
		return mask
	}
	return userinfo
}
