// Wharf adapter, not part of the upstream suite.
//
// Upstream's reporter.go (v1.1 line) is built on ginkgo v2's report types
// (types.Report, types.SpecReport), which ginkgo v1 lacks. This file provides
// what the upstream setup.go needs from it (the HTTP debug writer and the
// logger handed to the HTTP client) and a ginkgo v1 reporter that writes, next
// to junit.xml:
//
//   results.txt   one line per spec: PASS / FAIL / SKIP and its full name
//   failures.txt  for each failed spec: the message, where it failed, and every
//                 HTTP request and response the spec made (credentials redacted)
//
// and ends the run with the line "N passed, N failed, N skipped".
package conformance

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/config"
	"github.com/onsi/ginkgo/types"
)

// httpDebugWriter keeps everything the HTTP client logs; each spec's share is
// cut out when the spec completes.
type httpDebugWriter struct {
	CapturedOutput []string
	debug          bool
}

func newHTTPDebugWriter(debug bool) *httpDebugWriter {
	return &httpDebugWriter{debug: debug}
}

func (w *httpDebugWriter) Write(b []byte) (int, error) {
	s := string(b)
	w.CapturedOutput = append(w.CapturedOutput, s)
	if w.debug {
		fmt.Println(s)
	}
	return len(b), nil
}

// httpDebugLogger is the resty logger: everything goes to the writer, with
// credentials masked.
type httpDebugLogger struct {
	l *log.Logger
	w io.Writer
}

func newHTTPDebugLogger(w io.Writer) *httpDebugLogger {
	return &httpDebugLogger{w: w, l: log.New(w, "", log.Ldate|log.Lmicroseconds)}
}

var (
	// "Authorization: Basic abc" / "Bearer abc" in resty's header dump.
	authHeaderValue = regexp.MustCompile(`(?i)(authorization:\s*)(basic|bearer)\s+\S+`)
	// "token": "abc" / "access_token": "abc" in a token response body.
	tokenJSONValue = regexp.MustCompile(`(?i)("(?:access_)?token"\s*:\s*)"[^"]*"`)
)

func redact(s string) string {
	s = authHeaderValue.ReplaceAllString(s, "${1}${2} *****")
	return tokenJSONValue.ReplaceAllString(s, `${1}"*****"`)
}

func (l *httpDebugLogger) Errorf(format string, v ...interface{}) {
	l.output("ERROR "+format, v...)
}

func (l *httpDebugLogger) Warnf(format string, v ...interface{}) {
	l.output("WARN "+format, v...)
}

func (l *httpDebugLogger) Debugf(format string, v ...interface{}) {
	l.output("DEBUG "+format, v...)
}

func (l *httpDebugLogger) output(format string, v ...interface{}) {
	if len(v) == 0 {
		l.l.Print(redact(format))
		return
	}
	if _, err := l.w.Write([]byte(redact(fmt.Sprintf(format, v...)))); err != nil {
		l.l.Print("ERROR " + err.Error())
	}
}

// textReporter implements ginkgo v1's Reporter.
type textReporter struct {
	dir        string
	debugIndex int
	results    bytes.Buffer
	failures   bytes.Buffer
	passed     int
	failed     int
	skipped    int
}

// newTextReporter writes next to the JUnit file (OCI_REPORT_DIR); with
// OCI_REPORT_DIR=none it only prints the summary line.
func newTextReporter(junitFilename string) *textReporter {
	dir := ""
	if junitFilename != "" {
		dir = filepath.Dir(junitFilename)
	}
	return &textReporter{dir: dir}
}

func specName(s *types.SpecSummary) string {
	texts := s.ComponentTexts
	if len(texts) > 2 {
		// drop "[Top Level]" and the suite description
		texts = texts[2:]
	}
	return strings.Join(texts, " / ")
}

func (r *textReporter) SpecSuiteWillBegin(config.GinkgoConfigType, *types.SuiteSummary) {}
func (r *textReporter) BeforeSuiteDidRun(*types.SetupSummary)                          {}
func (r *textReporter) SpecWillRun(*types.SpecSummary)                                  {}
func (r *textReporter) AfterSuiteDidRun(*types.SetupSummary)                            {}

func (r *textReporter) SpecDidComplete(s *types.SpecSummary) {
	httpLog := strings.Join(httpWriter.CapturedOutput[r.debugIndex:], "\n")
	r.debugIndex = len(httpWriter.CapturedOutput)
	s.CapturedOutput = httpLog

	name := specName(s)
	switch {
	case s.Passed():
		r.passed++
		fmt.Fprintf(&r.results, "PASS  %s\n", name)
	case s.Skipped() || s.Pending():
		r.skipped++
		fmt.Fprintf(&r.results, "SKIP  %s\n", name)
	default:
		r.failed++
		fmt.Fprintf(&r.results, "FAIL  %s\n", name)
		fmt.Fprintf(&r.failures, "=== FAIL: %s\n%s\nat %s\n", name,
			strings.TrimSpace(s.Failure.Message), s.Failure.Location.String())
		if s.Failure.ForwardedPanic != "" {
			fmt.Fprintf(&r.failures, "panic: %s\n", s.Failure.ForwardedPanic)
		}
		fmt.Fprintf(&r.failures, "--- HTTP exchanges of this spec:\n%s\n\n", httpLog)
	}
}

func (r *textReporter) SpecSuiteDidEnd(*types.SuiteSummary) {
	if r.dir != "" {
		write := func(name string, b *bytes.Buffer) {
			path := filepath.Join(r.dir, name)
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "cannot write %s: %v\n", path, err)
			}
		}
		write("results.txt", &r.results)
		write("failures.txt", &r.failures)
	}
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
}
