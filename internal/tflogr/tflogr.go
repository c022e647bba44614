// Package tflogr adapts tflog to logr, so that the embedded reconcilers'
// logs show in Terraform's log (TF_LOG=DEBUG, TF_LOG_PROVIDER=TRACE).
package tflogr

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// New returns a logger writing to the tflog logger of ctx: info at DEBUG
// (TRACE for verbosity above 0), errors at WARN (a reconciler's error is
// retried, it is not the apply's error).
func New(ctx context.Context) logr.Logger {
	return logr.New(&sink{ctx: ctx})
}

type sink struct {
	ctx    context.Context
	name   string
	values []any
}

func (s *sink) Init(logr.RuntimeInfo) {}

// maxVerbosity is the highest logr verbosity written. client-go logs
// request and response bodies from verbosity 8 up (Secrets with their keys,
// kubeconfigs, bootstrap tokens in KubeadmConfigs), and requests' URLs and
// headers at 6 and 7: none of that reaches Terraform's log, whatever
// TF_LOG says. The reconcilers' own messages are at 0 to 4.
const maxVerbosity = 4

func (s *sink) Enabled(level int) bool { return level <= maxVerbosity }

func (s *sink) fields(kv []any) map[string]any {
	f := map[string]any{}
	if s.name != "" {
		f["logger"] = s.name
	}
	all := append(append([]any{}, s.values...), kv...)
	for i := 0; i+1 < len(all); i += 2 {
		f[fmt.Sprint(all[i])] = fmt.Sprint(all[i+1])
	}
	return f
}

func (s *sink) Info(level int, msg string, kv ...any) {
	if level > 0 {
		tflog.Trace(s.ctx, msg, s.fields(kv))
		return
	}
	tflog.Debug(s.ctx, msg, s.fields(kv))
}

func (s *sink) Error(err error, msg string, kv ...any) {
	f := s.fields(kv)
	f["error"] = fmt.Sprint(err)
	tflog.Warn(s.ctx, msg, f)
}

func (s *sink) WithValues(kv ...any) logr.LogSink {
	return &sink{ctx: s.ctx, name: s.name, values: append(append([]any{}, s.values...), kv...)}
}

func (s *sink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &sink{ctx: s.ctx, name: name, values: s.values}
}
