// libadvlab_ortthreads: sets ONNX Runtime's intra-op thread count for programs that cannot.
//
// github.com/gomlx/compute-onnx (v0.1.5) creates its ONNX Runtime sessions with default options.
// ONNX Runtime's default intra-op thread pool (intra_op_num_threads = 0) pins its threads to cores
// and, on the 2-core machines advlab is benchmarked on, ran a DCGAN training step about 30% slower
// than an explicit count of 2 (docs/performance.md). This library sits between compute-onnx and
// the real libonnxruntime: it exports OrtGetApiBase, forwards every call to the real library, and
// only changes CreateSessionOptions, which it follows with SetIntraOpNumThreads(n).
//
//   ADVLAB_ORT_LIBRARY  the real libonnxruntime (default: libonnxruntime.so.1 beside this file)
//   ADVLAB_ORT_THREADS  the intra-op thread count n (default: the CPUs this process may run on;
//                       0 keeps ONNX Runtime's own default)
//   ADVLAB_ORT_VERBOSE  when set, a line on stderr for every session's options
//
// lib/backend points compute-onnx at this library when `make onnx` has built it; build it with
//   cc -shared -fPIC -O2 -I <dir of onnxruntime_c_api.h> -o libadvlab_ortthreads.so ortthreads.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxruntime_c_api.h"

static const OrtApiBase *real_base;
static const OrtApi *real_api;           // the real table of the version patched_api copies
static OrtApi patched_api;               // real_api with CreateSessionOptions replaced
static uint32_t patched_version;
static OrtApiBase shim_base;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int intra_op_threads(void) {
	const char *env = getenv("ADVLAB_ORT_THREADS");
	if (env != NULL && *env != '\0') {
		char *end;
		long n = strtol(env, &end, 10);
		if (*end == '\0' && n >= 0 && n <= 4096) {
			return (int)n;
		}
		fprintf(stderr, "libadvlab_ortthreads: ADVLAB_ORT_THREADS=%s is not a thread count (want an integer 0..4096); "
				"using ONNX Runtime's default\n", env);
		return 0;
	}
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		return CPU_COUNT(&set);
	}
	return 0;
}

static OrtStatus *ORT_API_CALL create_session_options(OrtSessionOptions **out) {
	OrtStatus *status = real_api->CreateSessionOptions(out);
	if (status != NULL) {
		return status;
	}
	int n = intra_op_threads();
	if (n > 0) {
		status = real_api->SetIntraOpNumThreads(*out, n);
		if (status != NULL) {
			real_api->ReleaseSessionOptions(*out);
			*out = NULL;
			return status;
		}
	}
	if (getenv("ADVLAB_ORT_VERBOSE") != NULL) {
		fprintf(stderr, "libadvlab_ortthreads: session options with %d intra-op threads (0: ONNX Runtime's default)\n", n);
	}
	return NULL;
}

static const OrtApi *ORT_API_CALL get_api(uint32_t version) {
	const OrtApi *api = real_base->GetApi(version);
	// Only versions whose table layout this file was compiled with can be copied and patched.
	if (api == NULL || version > ORT_API_VERSION) {
		return api;
	}
	pthread_mutex_lock(&lock);
	if (patched_version != version) {
		real_api = api;
		memcpy(&patched_api, api, sizeof(OrtApi));
		patched_api.CreateSessionOptions = create_session_options;
		patched_version = version;
	}
	pthread_mutex_unlock(&lock);
	return &patched_api;
}

static const char *ORT_API_CALL get_version_string(void) { return real_base->GetVersionString(); }

// real_library returns the path of the real libonnxruntime into buf.
static const char *real_library(char *buf, size_t size) {
	const char *env = getenv("ADVLAB_ORT_LIBRARY");
	if (env != NULL && *env != '\0') {
		return env;
	}
	Dl_info info;
	if (dladdr((void *)real_library, &info) != 0 && info.dli_fname != NULL) {
		const char *slash = strrchr(info.dli_fname, '/');
		if (slash != NULL) {
			snprintf(buf, size, "%.*s/libonnxruntime.so.1", (int)(slash - info.dli_fname), info.dli_fname);
			return buf;
		}
	}
	return "libonnxruntime.so.1";
}

__attribute__((visibility("default"))) const OrtApiBase *ORT_API_CALL OrtGetApiBase(void) NO_EXCEPTION {
	pthread_mutex_lock(&lock);
	if (real_base == NULL) {
		char buf[4096];
		const char *path = real_library(buf, sizeof(buf));
		void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		const OrtApiBase *(*entry)(void) = NULL;
		if (handle != NULL) {
			entry = (const OrtApiBase *(*)(void))dlsym(handle, "OrtGetApiBase");
		}
		if (entry == NULL) {
			fprintf(stderr, "libadvlab_ortthreads: cannot load OrtGetApiBase from the real ONNX Runtime %s: %s "
					"(set ADVLAB_ORT_LIBRARY to libonnxruntime.so.1)\n", path, dlerror());
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		real_base = entry();
		shim_base.GetApi = get_api;
		shim_base.GetVersionString = get_version_string;
	}
	pthread_mutex_unlock(&lock);
	return &shim_base;
}
