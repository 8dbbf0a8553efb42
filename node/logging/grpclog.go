package logging

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"google.golang.org/grpc/grpclog"
)

// Grpc is a grpclog.LoggerV2 writing through a slog.Logger, so gRPC's own
// lines (connection errors, mostly) have the node's format. gRPC's info
// lines are debug lines here: they describe every connection attempt.
type Grpc struct{ l *slog.Logger }

var _ grpclog.LoggerV2 = Grpc{}

// RouteGrpc sends gRPC's log lines to l for the rest of the process.
// Call it before any gRPC connection or server exists (gRPC's rule).
func RouteGrpc(l *slog.Logger) { grpclog.SetLoggerV2(Grpc{l: l.With("logger", "grpc")}) }

func (g Grpc) Info(args ...any)                 { g.l.Debug(fmt.Sprint(args...)) }
func (g Grpc) Infoln(args ...any)               { g.l.Debug(sprintln(args)) }
func (g Grpc) Infof(format string, args ...any) { g.l.Debug(fmt.Sprintf(format, args...)) }
func (g Grpc) Warning(args ...any)              { g.l.Warn(fmt.Sprint(args...)) }
func (g Grpc) Warningln(args ...any)            { g.l.Warn(sprintln(args)) }
func (g Grpc) Warningf(format string, args ...any) {
	g.l.Warn(fmt.Sprintf(format, args...))
}
func (g Grpc) Error(args ...any)                 { g.l.Error(fmt.Sprint(args...)) }
func (g Grpc) Errorln(args ...any)               { g.l.Error(sprintln(args)) }
func (g Grpc) Errorf(format string, args ...any) { g.l.Error(fmt.Sprintf(format, args...)) }
func (g Grpc) Fatal(args ...any)                 { g.l.Error(fmt.Sprint(args...)); os.Exit(1) }
func (g Grpc) Fatalln(args ...any)               { g.l.Error(sprintln(args)); os.Exit(1) }
func (g Grpc) Fatalf(format string, args ...any) {
	g.l.Error(fmt.Sprintf(format, args...))
	os.Exit(1)
}

// V reports whether gRPC's verbose lines of level v are wanted: only when
// the handler takes debug lines.
func (g Grpc) V(v int) bool { return v <= 0 || g.l.Enabled(context.Background(), slog.LevelDebug-4) }

func sprintln(args []any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }
