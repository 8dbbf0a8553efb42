package checkpoint

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Store URLs may carry a password (redis://user:PASSWORD@host:port/0).
// Whatever prints one (logs, errors, status) prints RedactURL's form.

// redactedMark stands in for the password while the URL is re-encoded
// (url.URL escapes "*", so the mark is swapped for "***" afterwards).
const redactedMark = "KAPPAREDACTED"

// RedactURL is a store URL safe to print: its password replaced by ***
// (redis://:***@host:6379/0). A URL that does not parse is not printed.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable store URL)"
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), redactedMark)
	return strings.Replace(u.String(), ":"+redactedMark+"@", ":***@", 1)
}

// HasPassword says whether a store URL carries a password.
func HasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	_, has := u.User.Password()
	return has
}

// WithoutCredentials is a store URL without its user and password: what
// names the same store whichever credential reaches it.
func WithoutCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable store URL)"
	}
	u.User = nil
	return u.String()
}

// WithPassword sets the password of a store URL (keeping its user name),
// for a password read from a file (--store-password-file). The URL must
// not carry one already.
func WithPassword(raw, password string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", urlError(err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "", fmt.Errorf("checkpoint: a password file is for redis:// and rediss:// stores, not %s", RedactURL(raw))
	}
	if _, has := u.User.Password(); has {
		return "", fmt.Errorf("checkpoint: store URL %s has a password already; give it either in a password file or in the URL, not both", RedactURL(raw))
	}
	name := ""
	if u.User != nil {
		name = u.User.Username()
	}
	u.User = url.UserPassword(name, password)
	return u.String(), nil
}

// ReadPasswordFile reads a password file (--store-password-file): it must
// be readable by its owner only; surrounding whitespace is dropped.
func ReadPasswordFile(path, flag string) (string, error) {
	data, err := ReadSecretFile(path, flag)
	if err != nil {
		return "", err
	}
	pw := strings.TrimSpace(string(data))
	if pw == "" {
		return "", fmt.Errorf("%s %s is empty", flag, path)
	}
	return pw, nil
}

// urlError is a URL parse error without the URL (url.Error quotes it
// whole, password included).
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("checkpoint: store URL does not parse: %v", ue.Err)
	}
	return fmt.Errorf("checkpoint: store URL does not parse")
}
