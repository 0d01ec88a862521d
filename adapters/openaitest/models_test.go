package openaitest

import (
	"encoding/json"
	"net/http"
	"testing"
)

func getModels(t *testing.T, s *Server, key string) (int, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/models", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string
		Data   []map[string]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, list.Data
}

// A set list replaces the scripted names, in order, with the extra fields
// servers add; nil brings the scripted names back.
func TestSetModelList(t *testing.T) {
	s := New()
	defer s.Close()
	s.Script("scripted", Behaviour{})
	s.SetModelList([]ListedModel{{ID: "zeta", Fields: map[string]any{"max_model_len": 32768}}, {ID: "alpha", OwnedBy: "lab"}})
	code, data := getModels(t, s, "")
	if code != 200 || len(data) != 2 || data[0]["id"] != "zeta" || data[0]["max_model_len"] != float64(32768) ||
		data[1]["owned_by"] != "lab" || data[1]["object"] != "model" {
		t.Fatalf("%d %v", code, data)
	}
	s.SetModelList(nil)
	if _, data = getModels(t, s, ""); len(data) != 1 || data[0]["id"] != "scripted" {
		t.Fatalf("after SetModelList(nil): %v", data)
	}
}

func TestModelsNeedTheKey(t *testing.T) {
	s := New(WithAPIKey("sk-right"))
	defer s.Close()
	if code, _ := getModels(t, s, "sk-wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", code)
	}
	if code, _ := getModels(t, s, "sk-right"); code != http.StatusOK {
		t.Fatalf("right key: %d", code)
	}
}
