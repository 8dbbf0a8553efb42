package checkpoint

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A directory program is an entry module, main.py, with the program's own
// modules and packages beside it and, optionally, a requirements.txt that
// workers install before importing the program. Every other file in the
// directory (data, a vendored wheel named in requirements.txt) is bundled
// too, except what a project directory holds that is not the program.

// DirEntry is the entry module of a directory program.
const DirEntry = "main.py"

// RequirementsFile is the optional list of the program's pip requirements.
const RequirementsFile = "requirements.txt"

// maxBundleTotal bounds a whole directory program.
const maxBundleTotal = 64 << 20

// skippedDir reports directories that are not part of a program: caches,
// version control and virtual environments.
func skippedDir(path, name string) bool {
	if strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules" || name == "site-packages" {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

func skippedFile(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".pyc") || name == manifestName
}

// buildDirBundle bundles every program file under dir by its slash path.
func buildDirBundle(dir string, o BundleOptions) ([]byte, string, error) {
	if _, err := os.Stat(filepath.Join(dir, DirEntry)); err != nil {
		return nil, "", fmt.Errorf("program directory %s has no %s: name the entry module (the one defining handler(event, context)) %s", dir, DirEntry, DirEntry)
	}
	files := map[string][]byte{}
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && skippedDir(path, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skippedFile(name) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxBundleFile {
			return fmt.Errorf("program file %s is %d bytes; the limit is %d", path, info.Size(), maxBundleFile)
		}
		if total += info.Size(); total > maxBundleTotal {
			return fmt.Errorf("program directory %s holds more than %d bytes; move data out of it and read it from elsewhere", dir, maxBundleTotal)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("program directory %s: %w", dir, err)
	}
	return buildZip(files, Manifest{Format: 1, Entry: DirEntry, NoAutoPauses: o.NoAutoPauses})
}
