package checkpoint

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// An envelope wraps every blob a task writes (checkpoints, spawn starts,
// large values) so that bytes are bound to the identity they were written
// for: a blob read under another key, or altered, is refused before anything
// is unpickled. Layout (python/kappa/store/envelope.py writes the same):
//
//	"KAPPAEV1" | uint32 big-endian header length | header JSON | payload | 32-byte tag
//
// The tag is HMAC-SHA256 over everything before it with the cluster key, or
// plain SHA-256 when the cluster has no key (header "alg" says which).
const envelopeMagic = "KAPPAEV1"

// Header is the identity an envelope is bound to.
type Header struct {
	Cluster string `json:"cluster"`
	Job     uint64 `json:"job"`
	Task    uint64 `json:"task"`
	Epoch   uint64 `json:"epoch"`
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	Program string `json:"program"`
	Alg     string `json:"alg"`
}

// ErrTampered: the envelope's tag does not match its bytes.
var ErrTampered = errors.New("checkpoint: integrity check failed")

func tag(key, body []byte) []byte {
	if len(key) == 0 {
		sum := sha256.Sum256(body)
		return sum[:]
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

func algFor(key []byte) string {
	if len(key) == 0 {
		return "sha256"
	}
	return "hmac-sha256"
}

// Seal wraps payload in an envelope for h, tagged with key.
func Seal(key []byte, h Header, payload []byte) ([]byte, error) {
	h.Alg = algFor(key)
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(envelopeMagic)
	binary.Write(&b, binary.BigEndian, uint32(len(hdr)))
	b.Write(hdr)
	b.Write(payload)
	b.Write(tag(key, b.Bytes()))
	return b.Bytes(), nil
}

// OpenEnvelope checks an envelope's tag with key and returns its header and
// payload. The caller compares the header with the identity it expects.
func OpenEnvelope(key, data []byte) (Header, []byte, error) {
	var h Header
	if len(data) < len(envelopeMagic)+4+sha256.Size || string(data[:len(envelopeMagic)]) != envelopeMagic {
		return h, nil, fmt.Errorf("%w: not a Kappa envelope (bad magic or too short: %d bytes)", ErrTampered, len(data))
	}
	n := binary.BigEndian.Uint32(data[len(envelopeMagic):])
	start := len(envelopeMagic) + 4
	if uint64(start)+uint64(n)+sha256.Size > uint64(len(data)) {
		return h, nil, fmt.Errorf("%w: header length %d exceeds the envelope", ErrTampered, n)
	}
	body, got := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if !hmac.Equal(got, tag(key, body)) {
		return h, nil, fmt.Errorf("%w: the tag does not match (%s)", ErrTampered, algFor(key))
	}
	if err := json.Unmarshal(data[start:start+int(n)], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header does not decode: %v", ErrTampered, err)
	}
	if h.Alg != algFor(key) {
		return h, nil, fmt.Errorf("%w: envelope sealed with %q, expected %q", ErrTampered, h.Alg, algFor(key))
	}
	return h, body[start+int(n):], nil
}
