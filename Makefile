# The two commands of the README: `make run` and `make test`. Both install what is missing.
.PHONY: run test package bindings fmt ui

run:
	scripts/run.sh

test:
	scripts/test.sh

# Installable packages (.deb; AppImage where its tools can be downloaded) in target/release/bundle/.
package:
	scripts/package.sh

# Regenerate ui/src/ipc/bindings, ui/src/ipc/commands.gen.ts and src-tauri/capabilities/main.json
# after changing a DTO or the IPC contract (src-tauri/src/ipc/contract.rs).
bindings:
	UPDATE_BINDINGS=1 cargo test -p nuts-wallet-app --test bindings

fmt:
	cargo fmt --all

ui:
	cd ui && npm run build
