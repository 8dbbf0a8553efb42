package node

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Bearer tokens: a client sends "authorization: Bearer <token>"; a node
// knows tokens only by their sha256, from its --token-file (one line per
// token: "sha256-hex role name"), which it re-reads when the file changes.
// A stolen token file therefore grants nothing.

// TokenPrefix starts every token `kappa token create` makes, so a token
// pasted in the wrong place is recognisable.
const TokenPrefix = "kappa_"

// Token is one line of a token file.
type Token struct {
	Hash [sha256.Size]byte
	Role Role
	Name string
}

// NewToken draws a fresh token (32 random bytes) and returns it with the
// token-file line that admits it.
func NewToken(name string, role Role) (token, line string, err error) {
	if err := checkTokenName(name); err != nil {
		return "", "", err
	}
	if _, err := ParseClientRole(string(role)); err != nil {
		return "", "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("no randomness for a token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	return token, fmt.Sprintf("%s %s %s", hex.EncodeToString(h[:]), role, name), nil
}

// TokenOf admits one token given in clear (the embedded default's own).
func TokenOf(token string, role Role, name string) Token {
	return Token{Hash: sha256.Sum256([]byte(token)), Role: role, Name: name}
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

func checkTokenName(name string) error {
	if !tokenNameRE.MatchString(name) {
		return fmt.Errorf("token name %q: use 1-128 letters, digits and . _ @ - (starting with a letter or digit)", name)
	}
	return nil
}

// ParseTokens reads a token file's lines; errors name file:line.
func ParseTokens(file string, data []byte) ([]Token, error) {
	var out []Token
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, line)
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: want `sha256-hex role name` (make lines with `kappa token create NAME --role ROLE`), got %d fields", where, len(f))
		}
		h, err := hex.DecodeString(f[0])
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("%s: the first field must be the token's sha256 in hex (64 digits); a token itself does not belong in this file", where)
		}
		role, err := ParseClientRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := checkTokenName(f[2]); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		t := Token{Role: role, Name: f[2]}
		copy(t.Hash[:], h)
		out = append(out, t)
	}
	return out, sc.Err()
}

// tokenSet is the tokens a node admits: its file's, re-read when the file
// changes, plus any given in memory.
type tokenSet struct {
	file  string
	fixed []Token
	log   *slog.Logger

	mu      sync.Mutex
	byHash  map[[sha256.Size]byte]Token
	stamp   fileStamp
	checked time.Time
	lastBad string // the last reload error, logged once
}

// fileStamp tells a changed file from an unchanged one.
type fileStamp struct {
	mod  time.Time
	size int64
}

// tokenRecheck bounds how often a node looks at its token file.
const tokenRecheck = 200 * time.Millisecond

func newTokenSet(file string, fixed []Token, log *slog.Logger) (*tokenSet, error) {
	s := &tokenSet{file: file, fixed: fixed, log: log}
	if file == "" {
		s.byHash = indexTokens(nil, fixed)
		return s, nil
	}
	st, err := statTokenFile(file)
	if err != nil {
		return nil, err
	}
	toks, err := readTokenFile(file)
	if err != nil {
		return nil, err
	}
	s.byHash, s.stamp, s.checked = indexTokens(toks, fixed), st, time.Now()
	return s, nil
}

// enabled says whether the node admits any token at all.
func (s *tokenSet) enabled() bool { return s.file != "" || len(s.fixed) > 0 }

func statTokenFile(file string) (fileStamp, error) {
	info, err := os.Stat(file)
	if err != nil {
		return fileStamp{}, fmt.Errorf("--token-file: %w", err)
	}
	if info.Mode().Perm()&0o022 != 0 {
		return fileStamp{}, fmt.Errorf("--token-file %s is writable by others (mode %04o): whoever can write it can add an admin; chmod go-w %s",
			file, info.Mode().Perm(), file)
	}
	return fileStamp{mod: info.ModTime(), size: info.Size()}, nil
}

func readTokenFile(file string) ([]Token, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	return ParseTokens(file, data)
}

func indexTokens(lists ...[]Token) map[[sha256.Size]byte]Token {
	m := map[[sha256.Size]byte]Token{}
	for _, l := range lists {
		for _, t := range l {
			m[t.Hash] = t
		}
	}
	return m
}

// lookup finds the token's line. The token is hashed first and only the
// hash is looked up, so timing reveals nothing about the token itself.
func (s *tokenSet) lookup(token string) (Token, bool) {
	s.reload()
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byHash[h]
	return t, ok
}

// reload re-reads the file if it changed; a file that no longer parses
// keeps the tokens of the last good one, and says why once.
func (s *tokenSet) reload() {
	if s.file == "" {
		return
	}
	s.mu.Lock()
	if time.Since(s.checked) < tokenRecheck {
		s.mu.Unlock()
		return
	}
	s.checked = time.Now()
	old := s.stamp
	s.mu.Unlock()
	st, err := statTokenFile(s.file)
	if err == nil && st == old {
		return
	}
	var toks []Token
	if err == nil {
		toks, err = readTokenFile(s.file)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if err.Error() != s.lastBad {
			s.log.Error("the token file changed but cannot be used; keeping the tokens it held before", "err", err)
			s.lastBad = err.Error()
		}
		return
	}
	s.byHash, s.stamp, s.lastBad = indexTokens(toks, s.fixed), st, ""
	s.log.Info("token file reloaded", "file", s.file, "tokens", len(toks))
}
