// The app's state in IndexedDB: the device's key pair (CryptoKey objects,
// the private one non-extractable, so no script can read its bytes), the
// pairing, the pinned audit key and the last verified checkpoint.
const DB_NAME = 'tillit';
const STORE = 'state';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The value under `key`, or undefined. */
export function get(key) {
  return run('readonly', (s) => s.get(key));
}

/** Stores `value` (structured-cloneable, CryptoKeys included) under `key`. */
export function put(key, value) {
  return run('readwrite', (s) => s.put(value, key));
}

/** Removes everything: the pairing, the keys and the witness. */
export function clear() {
  return run('readwrite', (s) => s.clear());
}
