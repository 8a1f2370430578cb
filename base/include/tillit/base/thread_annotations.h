// Clang thread-safety annotations (-Wthread-safety), as in leveldb's
// port/thread_annotations.h. Under any other compiler they expand to
// nothing. Use them on tillit::Mutex (base/mutex.h): std::mutex carries no
// capability attribute in libstdc++, so the analysis cannot see it.
//
//   Mutex mu_;
//   int64_t count_ GUARDED_BY(mu_);
//   void BumpLocked() REQUIRES(mu_);
#ifndef TILLIT_BASE_THREAD_ANNOTATIONS_H_
#define TILLIT_BASE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define TILLIT_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define TILLIT_THREAD_ANNOTATION_(x)
#endif

#define CAPABILITY(x) TILLIT_THREAD_ANNOTATION_(capability(x))
#define SCOPED_CAPABILITY TILLIT_THREAD_ANNOTATION_(scoped_lockable)
#define GUARDED_BY(x) TILLIT_THREAD_ANNOTATION_(guarded_by(x))
#define PT_GUARDED_BY(x) TILLIT_THREAD_ANNOTATION_(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) \
  TILLIT_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) \
  TILLIT_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#define REQUIRES(...) \
  TILLIT_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) TILLIT_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define RELEASE(...) TILLIT_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) \
  TILLIT_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) TILLIT_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) TILLIT_THREAD_ANNOTATION_(assert_capability(x))
#define RETURN_CAPABILITY(x) TILLIT_THREAD_ANNOTATION_(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS \
  TILLIT_THREAD_ANNOTATION_(no_thread_safety_analysis)

#endif  // TILLIT_BASE_THREAD_ANNOTATIONS_H_
