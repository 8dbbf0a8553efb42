package checkpoint

import (
	"fmt"
	"regexp"
	"strconv"
)

// The key layout, shared with python/kappa/store/keys.py (both sides test
// it against testdata/key_vectors.json):
//
//	programs/HASH.zip                   a program bundle, by content hash
//	jobs/jJ/tT/eE-sS.ckpt               the checkpoint task T of job J writes in epoch E before call S
//	jobs/jJ/tT/eE-sS-KINDi.val          a large value (KIND start, result, item, …) written with call S
//	archive/jJ.json                     the record of job J after its retention (written by the leader; Go only)
//
// Numbers are decimal without leading zeros, so every key has one spelling.

// ResultJSONValue is the value kind of a job result's JSON stored by key
// (one too large to keep in the job's record).
const ResultJSONValue = "json"

// KeyKind says what a key holds.
type KeyKind int

const (
	KindProgram KeyKind = iota + 1
	KindCheckpoint
	KindValue
)

func (k KeyKind) String() string {
	switch k {
	case KindProgram:
		return "program"
	case KindCheckpoint:
		return "checkpoint"
	case KindValue:
		return "value"
	}
	return fmt.Sprintf("KeyKind(%d)", int(k))
}

// Key is a key taken apart by ParseKey; String puts it back together.
type Key struct {
	Kind    KeyKind
	Program string // the bundle's hash (KindProgram)
	// The writing task and the call the key belongs to (KindCheckpoint,
	// KindValue).
	Job, Task, Epoch, Seq uint64
	// Value is what a value key holds (start, result, item, …) and Index
	// its position among the call's values of that kind (KindValue).
	Value string
	Index uint64
}

// ProgramKey is where a program bundle with the given hash lives.
func ProgramKey(hash string) string { return "programs/" + hash + ".zip" }

// ArchivePrefix is the prefix of every archived job record.
const ArchivePrefix = "archive/"

// ArchiveKey is where a job's record goes when its retention ends.
func ArchiveKey(job uint64) string { return fmt.Sprintf("%sj%d.json", ArchivePrefix, job) }

var archiveKeyPattern = regexp.MustCompile(`^archive/j` + number + `\.json$`)

// ArchiveJob is the job an archive key names (ok false for any other key).
func ArchiveJob(key string) (job uint64, ok bool) {
	m := archiveKeyPattern.FindStringSubmatch(key)
	if m == nil {
		return 0, false
	}
	job, err := strconv.ParseUint(m[1], 10, 64)
	return job, err == nil
}

// JobPrefix is the prefix of every key of one job.
func JobPrefix(job uint64) string { return fmt.Sprintf("jobs/j%d/", job) }

// TaskPrefix is the prefix of every key of one task.
func TaskPrefix(job, task uint64) string { return fmt.Sprintf("%st%d/", JobPrefix(job), task) }

// CheckpointKey is the checkpoint a task writes before its call seq.
func CheckpointKey(job, task, epoch, seq uint64) string {
	return fmt.Sprintf("%se%d-s%d.ckpt", TaskPrefix(job, task), epoch, seq)
}

// ValueKey is a large value (a spawn's start, a result, a queue item)
// written along with call seq.
func ValueKey(job, task, epoch, seq uint64, kind string, index uint64) string {
	return fmt.Sprintf("%se%d-s%d-%s%d.val", TaskPrefix(job, task), epoch, seq, kind, index)
}

func (k Key) String() string {
	switch k.Kind {
	case KindProgram:
		return ProgramKey(k.Program)
	case KindCheckpoint:
		return CheckpointKey(k.Job, k.Task, k.Epoch, k.Seq)
	case KindValue:
		return ValueKey(k.Job, k.Task, k.Epoch, k.Seq, k.Value, k.Index)
	}
	return ""
}

const number = `(0|[1-9][0-9]*)`

var (
	programKeyPattern = regexp.MustCompile(`^programs/([0-9a-f]+)\.zip$`)
	taskKeyPattern    = regexp.MustCompile(`^jobs/j` + number + `/t` + number + `/e` + number + `-s` + number +
		`(?:\.ckpt|-([a-z]+)` + number + `\.val)$`)
)

// ParseKey takes a key of the layout apart; anything else (another
// layout, a leading zero, a number beyond uint64) is an error naming it.
func ParseKey(key string) (Key, error) {
	if m := programKeyPattern.FindStringSubmatch(key); m != nil {
		return Key{Kind: KindProgram, Program: m[1]}, nil
	}
	m := taskKeyPattern.FindStringSubmatch(key)
	if m == nil {
		return Key{}, fmt.Errorf("checkpoint: key %q is not a store key (programs/HASH.zip, jobs/jJ/tT/eE-sS.ckpt or jobs/jJ/tT/eE-sS-KINDi.val)", key)
	}
	var n [5]uint64
	for i, s := range []string{m[1], m[2], m[3], m[4], m[6]} {
		if s == "" {
			continue
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Key{}, fmt.Errorf("checkpoint: key %q: %s is beyond 64 bits", key, s)
		}
		n[i] = v
	}
	k := Key{Kind: KindCheckpoint, Job: n[0], Task: n[1], Epoch: n[2], Seq: n[3]}
	if m[5] != "" {
		k.Kind, k.Value, k.Index = KindValue, m[5], n[4]
	}
	return k, nil
}
