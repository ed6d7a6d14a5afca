package sandbox

import "net/http"

// The admin API needs no X-Pay: the sandbox listens on loopback and holds
// only test data. It is never subject to fault injection.

// handleAdminState serves GET /sandbox/v1/admin/state: Inspect as JSON.
func (s *Sandbox) handleAdminState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Inspect())
}

// handleAdminSetFaults serves POST /sandbox/v1/admin/faults: a FaultPlan
// as JSON replaces the current plan.
func (s *Sandbox) handleAdminSetFaults(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var p FaultPlan
	if m := decode(body, &p); m != "" {
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", m)
		return
	}
	if err := s.SetFaults(p); err != nil {
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleAdminClearFaults serves DELETE /sandbox/v1/admin/faults.
func (s *Sandbox) handleAdminClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	writeJSON(w, http.StatusOK, struct{}{})
}
