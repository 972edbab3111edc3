// Wharf adapter, not part of the upstream suite.
//
// Upstream's 00_conformance_suite_test.go (v1.1 line) registers its reports
// with ginkgo v2's ReportAfterEach/ReportAfterSuite and
// reporters.GenerateJUnitReportWithConfig, which ginkgo v1 (the only ginkgo
// Debian 12 packages) does not have. This file takes its place: it builds the
// same spec tree (the four workflows, in the same order) and runs it with
// ginkgo v1's custom-reporter entry point, ginkgo v1's JUnit reporter and the
// text reporter in reporter_v1.go.
package conformance

import (
	"testing"

	g "github.com/onsi/ginkgo"
	"github.com/onsi/ginkgo/reporters"
	. "github.com/onsi/gomega"
)

func TestConformance(t *testing.T) {
	g.Describe(suiteDescription, func() {
		test01Pull()
		test02Push()
		test03ContentDiscovery()
		test04ContentManagement()
	})

	RegisterFailHandler(g.Fail)
	// The text reporter goes first: it puts each spec's HTTP log into
	// CapturedOutput, which the JUnit reporter then writes for failures.
	rs := []g.Reporter{newTextReporter(reportJUnitFilename)}
	if reportJUnitFilename != "" {
		rs = append(rs, reporters.NewJUnitReporter(reportJUnitFilename))
	}
	g.RunSpecsWithDefaultAndCustomReporters(t, "conformance tests", rs)
}
