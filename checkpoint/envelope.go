package checkpoint

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// An envelope wraps every blob a task writes (checkpoints, spawn starts,
// values, inline or by key) so that bytes are bound to the identity they
// were written for: a blob read under another key or job, or altered, is
// refused before anything is unpickled. Layout (python/kappa/store/
// envelope.py writes the same):
//
//	"KAPPAEV1" | uint32 big-endian header length | header JSON | payload | 32-byte tag
//
// The tag is HMAC-SHA256 over everything before it with the job's key of
// the header's key id ("kid"). An envelope without a kid was sealed with the
// cluster-wide key of a cluster created before key files (LegacyKeyID).
const envelopeMagic = "KAPPAEV1"

// EnvelopeOverhead is what an envelope adds to its payload besides the
// header JSON: the magic, the header length and the tag.
const EnvelopeOverhead = len(envelopeMagic) + 4 + sha256.Size

const envelopeAlg = "hmac-sha256"

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
	// Kid names the key that sealed it; empty in the legacy format.
	Kid string `json:"kid,omitempty"`
}

// ErrTampered: the envelope's tag does not match its bytes, or its bytes
// are no envelope.
var ErrTampered = errors.New("checkpoint: integrity check failed")

// ErrUnknownKey: the envelope names a key id the reader does not hold
// (also an ErrTampered: nothing in it may be trusted).
var ErrUnknownKey = fmt.Errorf("%w: unknown key id", ErrTampered)

// KeySet is the keys a reader holds, by key id (a job's keys, as a task's
// claim grant carries them).
type KeySet map[string][]byte

func (ks KeySet) ids() string {
	ids := make([]string, 0, len(ks))
	for id := range ks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func tag(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// Seal wraps payload in an envelope for h, tagged with key, the key of id
// kid (LegacyKeyID writes the legacy format, without a kid).
func Seal(kid string, key []byte, h Header, payload []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, errors.New("checkpoint: sealing needs a key")
	}
	h.Alg, h.Kid = envelopeAlg, kid
	if kid == LegacyKeyID {
		h.Kid = ""
	}
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

// PeekHeader decodes an envelope's header without checking anything: for
// tools and tests that ask which key id sealed a blob. Nothing it returns
// may be trusted.
func PeekHeader(data []byte) (Header, error) {
	var h Header
	if len(data) < EnvelopeOverhead || string(data[:len(envelopeMagic)]) != envelopeMagic {
		return h, fmt.Errorf("%w: not a Kappa envelope (bad magic or too short: %d bytes)", ErrTampered, len(data))
	}
	n := binary.BigEndian.Uint32(data[len(envelopeMagic):])
	start := len(envelopeMagic) + 4
	if uint64(start)+uint64(n)+sha256.Size > uint64(len(data)) {
		return h, fmt.Errorf("%w: header length %d exceeds the envelope", ErrTampered, n)
	}
	if err := json.Unmarshal(data[start:start+int(n)], &h); err != nil {
		return h, fmt.Errorf("%w: header does not decode: %v", ErrTampered, err)
	}
	return h, nil
}

// OpenEnvelope checks an envelope's tag with the key its header names and
// returns the header and payload. The header is decoded before the tag is
// checked only to pick the key; nothing of it is trusted before. The caller
// compares the header with the identity it expects.
func OpenEnvelope(keys KeySet, data []byte) (Header, []byte, error) {
	h, err := PeekHeader(data)
	if err != nil {
		return Header{}, nil, err
	}
	start := len(envelopeMagic) + 4
	n := int(binary.BigEndian.Uint32(data[len(envelopeMagic):]))
	kid := h.Kid
	if kid == "" {
		kid = LegacyKeyID
	}
	key, ok := keys[kid]
	if !ok {
		return Header{}, nil, fmt.Errorf("%w: sealed with key id %q, which is not among the keys held here (%s); was it removed from the cluster key files while blobs it signed were still needed?",
			ErrUnknownKey, kid, keys.ids())
	}
	body, got := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if !hmac.Equal(got, tag(key, body)) {
		return Header{}, nil, fmt.Errorf("%w: the %s tag does not match (key id %q)", ErrTampered, envelopeAlg, kid)
	}
	if h.Alg != envelopeAlg {
		return Header{}, nil, fmt.Errorf("%w: envelope sealed with %q, expected %q", ErrTampered, h.Alg, envelopeAlg)
	}
	return h, body[start+n:], nil
}
