// Not used by the build: scripts/oci-conformance.sh builds the suite in GOPATH mode
// (GO111MODULE=off, GOPATH=<temporary tree>:/usr/share/gocode) against Debian's Go packages, so no
// module is ever fetched. This file only makes the folder a module of its own, with no
// requirements. See README.md.
module wharf.local/oci-conformance

go 1.19
