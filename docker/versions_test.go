// Package docker_test checks that the versions pinned in the Docker images agree with the rest of
// the repository: go.mod's requirements, the `!*go get` pins in every notebook's first code cell,
// and the tool versions kernel/install.sh builds for `make lab`.
package docker_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// dockerfiles are the images whose pins are checked.
var dockerfiles = []string{"docker/Dockerfile.cpu", "docker/Dockerfile.cuda"}

// argModules maps a Dockerfile ARG to the Go module whose go.mod requirement it must equal. An ARG
// that a Dockerfile does not declare is not checked there (GOMLX_VERSION, for instance, is only
// checked where an image names it).
var argModules = map[string]string{
	"GO_XLA_VERSION":  "github.com/gomlx/go-xla",
	"GONB_VERSION":    "github.com/janpfeifer/gonb",
	"GOMLX_VERSION":   "github.com/gomlx/gomlx",
	"COMPUTE_VERSION": "github.com/gomlx/compute",
}

// installShVars maps a Dockerfile ARG to the variable of kernel/install.sh that pins the same tool.
var installShVars = map[string]string{
	"GONB_VERSION":    "GONB_VERSION",
	"X_TOOLS_VERSION": "X_TOOLS_VERSION",
	"GOPLS_VERSION":   "GOPLS_VERSION",
}

// requiredArgs must be declared by every Dockerfile.
var requiredArgs = []string{"GO_VERSION", "GONB_VERSION", "X_TOOLS_VERSION", "GOPLS_VERSION", "GO_XLA_VERSION",
	"JUPYTERLAB_VERSION"}

var (
	argLine     = regexp.MustCompile(`^ARG\s+([A-Z0-9_]+)=(\S+)\s*$`)
	fromLine    = regexp.MustCompile(`^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?`)
	goDirective = regexp.MustCompile(`^go\s+(\d+\.\d+(?:\.\d+)?)\s*$`)
	requireItem = regexp.MustCompile(`^(\S+)\s+(v\S+)`)
	shVar       = regexp.MustCompile(`^([A-Z_]+)=(v\S+?)(?:\s|$)`)
	semverish   = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
)

// goMod is what the checks need from go.mod.
type goMod struct {
	goVersion string
	require   map[string]string
}

func parseGoMod(path string) (goMod, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return goMod{}, err
	}
	mod := goMod{require: map[string]string{}}
	inBlock := false
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case goDirective.MatchString(line):
			mod.goVersion = goDirective.FindStringSubmatch(line)[1]
		case line == "require (":
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock || strings.HasPrefix(line, "require "):
			if m := requireItem.FindStringSubmatch(strings.TrimPrefix(line, "require ")); m != nil {
				mod.require[m[1]] = m[2]
			}
		}
	}
	if mod.goVersion == "" {
		return mod, fmt.Errorf("%s has no go directive", path)
	}
	return mod, nil
}

// dockerfile is what the checks need from a Dockerfile: its ARG defaults, its base images and
// the names of its build stages.
type dockerfile struct {
	args   map[string]string
	froms  []string
	stages map[string]bool
}

func parseDockerfile(path string) (dockerfile, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return dockerfile{}, err
	}
	d := dockerfile{args: map[string]string{}, stages: map[string]bool{}}
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if m := argLine.FindStringSubmatch(line); m != nil {
			d.args[m[1]] = strings.Trim(m[2], `"`)
		} else if m := fromLine.FindStringSubmatch(line); m != nil {
			if !d.stages[m[1]] { // FROM an earlier stage is not a base image.
				d.froms = append(d.froms, m[1])
			}
			if m[2] != "" {
				d.stages[m[2]] = true
			}
		}
	}
	return d, nil
}

// notebookPins returns the module@version pins of the `!*go get` lines in the first code cell.
func notebookPins(path string) (map[string]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nb struct {
		Cells []struct {
			CellType string          `json:"cell_type"`
			Source   json.RawMessage `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(content, &nb); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, cell := range nb.Cells {
		if cell.CellType != "code" {
			continue
		}
		var lines []string
		if err := json.Unmarshal(cell.Source, &lines); err != nil {
			var text string
			if err := json.Unmarshal(cell.Source, &text); err != nil {
				return nil, fmt.Errorf("%s: unreadable cell source", path)
			}
			lines = []string{text}
		}
		pins := map[string]string{}
		for _, line := range strings.Split(strings.Join(lines, ""), "\n") {
			rest, found := strings.CutPrefix(strings.TrimSpace(line), "!*go get ")
			if !found {
				continue
			}
			for _, field := range strings.Fields(rest) {
				if module, version, found := strings.Cut(field, "@"); found && strings.Contains(module, ".") {
					pins[module] = version
				}
			}
		}
		if len(pins) == 0 {
			return nil, fmt.Errorf("%s: the first code cell pins no module with `!*go get MODULE@VERSION`", path)
		}
		return pins, nil
	}
	return nil, fmt.Errorf("%s has no code cell", path)
}

// installShPins returns the VAR=vX.Y.Z assignments of kernel/install.sh.
func installShPins(path string) (map[string]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	for _, line := range strings.Split(string(content), "\n") {
		if m := shVar.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			pins[m[1]] = m[2]
		}
	}
	return pins, nil
}

// versionAtLeast reports whether dotted version a >= b ("1.26.8" >= "1.26.5").
// requirementPins reads the name==version lines of a pip requirements file (names lower-cased).
func requirementPins(path string) (map[string]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, version, found := strings.Cut(line, "==")
		if !found {
			return nil, fmt.Errorf("%s: %q is not pinned with ==", path, line)
		}
		pins[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(version)
	}
	return pins, nil
}

func versionAtLeast(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}

// checkVersions returns every disagreement between the pins under root, one sentence each.
func checkVersions(root string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	mod, err := parseGoMod(filepath.Join(root, "go.mod"))
	if err != nil {
		return []string{err.Error()}
	}
	notebooks, _ := filepath.Glob(filepath.Join(root, "notebooks", "*.ipynb"))
	if len(notebooks) == 0 {
		report("no notebooks/*.ipynb to check")
	}
	gonbPins := map[string]string{} // notebook -> its gonb pin
	for _, path := range notebooks {
		pins, err := notebookPins(path)
		if err != nil {
			report("%v", err)
			continue
		}
		for module, version := range pins {
			want, found := mod.require[module]
			switch {
			case !found:
				report("%s pins %s@%s, which go.mod does not require", filepath.Base(path), module, version)
			case version != want:
				report("%s pins %s@%s, go.mod requires %s", filepath.Base(path), module, version, want)
			}
		}
		if v, found := pins["github.com/janpfeifer/gonb"]; found {
			gonbPins[filepath.Base(path)] = v
		}
	}

	installSh, err := installShPins(filepath.Join(root, "kernel", "install.sh"))
	if err != nil {
		report("%v", err)
	}
	labPins, err := requirementPins(filepath.Join(root, "kernel", "lab", "requirements.txt"))
	if err != nil {
		report("%v", err)
	}
	args := map[string]map[string]string{} // ARG -> Dockerfile -> value
	for _, rel := range dockerfiles {
		d, err := parseDockerfile(filepath.Join(root, rel))
		if err != nil {
			report("%v", err)
			continue
		}
		for _, name := range requiredArgs {
			if _, found := d.args[name]; !found {
				report("%s does not pin %s (ARG %s=...)", rel, name, name)
			}
		}
		for name, value := range d.args {
			if args[name] == nil {
				args[name] = map[string]string{}
			}
			args[name][rel] = value
			if module, found := argModules[name]; found {
				want, required := mod.require[module]
				switch {
				case !required:
					report("%s pins %s=%s, but go.mod does not require %s", rel, name, value, module)
				case value != want:
					report("%s pins %s=%s, go.mod requires %s %s", rel, name, value, module, want)
				}
			}
			if variable, found := installShVars[name]; found && installSh != nil && installSh[variable] != value {
				report("%s pins %s=%s, kernel/install.sh has %s=%s", rel, name, value, variable, installSh[variable])
			}
		}
		if lab, found := d.args["JUPYTERLAB_VERSION"]; found && labPins != nil && labPins["jupyterlab"] != lab {
			report("%s pins JUPYTERLAB_VERSION=%s, kernel/lab/requirements.txt has jupyterlab==%s", rel, lab, labPins["jupyterlab"])
		}
		if goVersion := d.args["GO_VERSION"]; goVersion != "" {
			if !semverish.MatchString(goVersion) {
				report("%s pins GO_VERSION=%s, want an exact release such as 1.26.8", rel, goVersion)
			} else if !versionAtLeast(goVersion, mod.goVersion) {
				report("%s pins GO_VERSION=%s, older than go.mod's go %s", rel, goVersion, mod.goVersion)
			}
		}
		if gonb := d.args["GONB_VERSION"]; gonb != "" {
			for notebook, pin := range gonbPins {
				if pin != gonb {
					report("%s pins GONB_VERSION=%s, %s pins github.com/janpfeifer/gonb@%s", rel, gonb, notebook, pin)
				}
			}
		}
		for _, image := range d.froms {
			if strings.Contains(image, "$") || strings.Contains(image, "@sha256:") {
				continue // an ARG-built tag (checked above) or a digest.
			}
			if _, tag, found := strings.Cut(image, ":"); !found || tag == "latest" || !strings.ContainsAny(tag, "0123456789") {
				report("%s: base image %q is not pinned to an exact tag", rel, image)
			}
		}
	}
	// The images must agree with each other on every version they both pin.
	for name, values := range args {
		seen := map[string]bool{}
		for _, v := range values {
			seen[v] = true
		}
		if len(seen) > 1 {
			files := make([]string, 0, len(values))
			for rel, v := range values {
				files = append(files, rel+": "+v)
			}
			sort.Strings(files)
			report("the Dockerfiles disagree on %s (%s)", name, strings.Join(files, ", "))
		}
	}
	sort.Strings(problems)
	return problems
}

func TestPinnedVersionsAgree(t *testing.T) {
	for _, problem := range checkVersions("..") {
		t.Error(problem)
	}
}

// copyTree copies the files checkVersions reads from the repository into dir.
func copyTree(t *testing.T, dir string) {
	t.Helper()
	notebooks, _ := filepath.Glob("../notebooks/*.ipynb")
	files := append([]string{"go.mod", "kernel/install.sh", "kernel/lab/requirements.txt"}, dockerfiles...)
	for _, nb := range notebooks {
		files = append(files, filepath.Join("notebooks", filepath.Base(nb)))
	}
	for _, rel := range files {
		content, err := os.ReadFile(filepath.Join("..", rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// edit replaces old by new in dir/rel, failing when old is absent.
func edit(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	path := filepath.Join(dir, rel)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(content), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(content), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckVersionsCatchesMismatches breaks one pin at a time in a copy of the files and expects
// the check to name it.
func TestCheckVersionsCatchesMismatches(t *testing.T) {
	notebooks, _ := filepath.Glob("../notebooks/*.ipynb")
	if len(notebooks) == 0 {
		t.Fatal("no notebooks to test with")
	}
	firstNotebook := filepath.Join("notebooks", filepath.Base(notebooks[0]))
	for _, c := range []struct {
		name, file, old, new, want string
	}{
		{"go-xla in an image", "docker/Dockerfile.cuda", "ARG GO_XLA_VERSION=v0.4.5", "ARG GO_XLA_VERSION=v0.4.4",
			"docker/Dockerfile.cuda pins GO_XLA_VERSION=v0.4.4, go.mod requires github.com/gomlx/go-xla v0.4.5"},
		{"gonb in an image", "docker/Dockerfile.cpu", "ARG GONB_VERSION=v0.11.5", "ARG GONB_VERSION=v0.11.4",
			"docker/Dockerfile.cpu pins GONB_VERSION=v0.11.4, go.mod requires github.com/janpfeifer/gonb v0.11.5"},
		{"Go older than go.mod", "docker/Dockerfile.cpu", "ARG GO_VERSION=1.26.8", "ARG GO_VERSION=1.25.9",
			"docker/Dockerfile.cpu pins GO_VERSION=1.25.9, older than go.mod's go 1.26.5"},
		{"gomlx in a notebook", firstNotebook, "github.com/gomlx/gomlx@v0.28.8", "github.com/gomlx/gomlx@v0.28.7",
			"pins github.com/gomlx/gomlx@v0.28.7, go.mod requires v0.28.8"},
		{"gopls against install.sh", "docker/Dockerfile.cuda", "ARG GOPLS_VERSION=v0.21.0", "ARG GOPLS_VERSION=v0.20.0",
			"docker/Dockerfile.cuda pins GOPLS_VERSION=v0.20.0, kernel/install.sh has GOPLS_VERSION=v0.21.0"},
		{"an unpinned base image", "docker/Dockerfile.cuda", "nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04", "nvidia/cuda:latest",
			`base image "nvidia/cuda:latest" is not pinned`},
		{"JupyterLab against make lab's", "kernel/lab/requirements.txt", "jupyterlab==4.6.6", "jupyterlab==4.6.5",
			"docker/Dockerfile.cpu pins JUPYTERLAB_VERSION=4.6.6, kernel/lab/requirements.txt has jupyterlab==4.6.5"},
		{"go.mod moved on", "go.mod", "github.com/gomlx/go-xla v0.4.5", "github.com/gomlx/go-xla v0.4.6",
			"go.mod requires github.com/gomlx/go-xla v0.4.6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, dir)
			if problems := checkVersions(dir); len(problems) != 0 {
				t.Fatalf("the unmodified copy already has problems: %v", problems)
			}
			edit(t, dir, c.file, c.old, c.new)
			problems := checkVersions(dir)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, c.want)
			}
			if !found {
				t.Errorf("after changing %q to %q in %s, the problems %q do not mention %q", c.old, c.new, c.file,
					problems, c.want)
			}
		})
	}
}
