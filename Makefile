# The two quick-start commands. Both install missing Debian packages first
# (scripts/ensure-deps), then use the CMake presets in CMakePresets.json.
#
#   make demo   build and run the samples' tour (optimised build)
#   make test   build and run the whole test suite (debug build)
#   make bench  build and run the benchmarks, ratios against raw libuv
#               and the cheapest equivalents
#   make check  everything CI runs: test, then sanitizers with g++ and clang++

.PHONY: demo test bench check deps clean

deps:
	@sh scripts/ensure-deps

demo: deps
	cmake --preset release
	cmake --build --preset release --target demo

test: deps
	cmake --preset dev
	cmake --build --preset dev
	ctest --preset dev

bench: deps
	cmake --preset release
	cmake --build --preset release --target aiouv_bench aiouv_combinators_bench aiouv_threads_bench aiouv_io_bench
	./build/release/bench/aiouv_bench
	./build/release/bench/aiouv_combinators_bench
	./build/release/bench/aiouv_threads_bench
	./build/release/bench/aiouv_io_bench

check: test
	sh scripts/sanitizer-matrix

clean:
	rm -rf build
