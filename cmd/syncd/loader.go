package main

import "github.com/syncd/syncd/internal/desired"

// loaderFlags bound what loading the manifests may read (issue 12): where
// ${file:} secrets may come from, and how many bytes each kind of file and
// the whole directory may hold. Every command that loads manifests uses them.
type loaderFlags struct {
	SecretDirs       []string `name:"secret-dirs" env:"SYNCD_SECRET_DIRS" sep:":" placeholder:"DIR:DIR" help:"Directories ${file:} secret references may read from, besides the manifests directory, /run/secrets and /var/run/secrets (colon-separated)."`
	MaxManifestBytes int64    `name:"max-manifest-bytes" env:"SYNCD_MAX_MANIFEST_BYTES" default:"1048576" help:"Largest manifest file read, in bytes."`
	MaxFileBytes     int64    `name:"max-file-bytes" env:"SYNCD_MAX_FILE_BYTES" default:"4194304" help:"Largest $file section include read, in bytes."`
	MaxSecretBytes   int64    `name:"max-secret-bytes" env:"SYNCD_MAX_SECRET_BYTES" default:"65536" help:"Largest ${file:} secret read, in bytes."`
	MaxTotalBytes    int64    `name:"max-total-bytes" env:"SYNCD_MAX_TOTAL_BYTES" default:"268435456" help:"Most bytes one load of the manifests directory reads in all (manifests, includes and secrets)."`
}

// options are the loader options these flags set.
func (f loaderFlags) options() desired.Options {
	return desired.Options{
		SecretDirs: f.SecretDirs,
		Limits: desired.Limits{
			ManifestBytes: f.MaxManifestBytes,
			FileBytes:     f.MaxFileBytes,
			SecretBytes:   f.MaxSecretBytes,
			TotalBytes:    f.MaxTotalBytes,
		},
	}
}
