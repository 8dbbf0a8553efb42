package local

import "github.com/kappa-serverless/kappa/lambda"

// Stats is a snapshot of the platform's counters, for tests and progress
// reports.
type Stats struct {
	Invocations    int64 // finished invocations the platform ran (any outcome)
	ColdStarts     int64
	WarmStarts     int64
	FunctionErrors int64
	Timeouts       int64
	Crashes        int64
	Throttles      int64 // invocations refused with ErrThrottled
	Duplicates     int64 // extra copies started by Faults.Duplicate
	Dropped        int64 // responses replaced by a crash by Faults.Drop

	Busy     int // invocations holding a concurrency slot now
	PeakBusy int // highest Busy seen
	Idle     int // warm workers waiting for an invocation
	Workers  int // live worker processes (busy, idle or being stopped)
}

func (s *Stats) count(res lambda.Result) {
	s.Invocations++
	if res.ColdStart {
		s.ColdStarts++
	} else {
		s.WarmStarts++
	}
	switch res.Outcome {
	case lambda.FunctionError:
		s.FunctionErrors++
	case lambda.Timeout:
		s.Timeouts++
	case lambda.Crash:
		s.Crashes++
	}
}
