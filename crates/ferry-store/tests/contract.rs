//! The shared store contract, against `MemoryStore` and against `EtcdStore` on a real etcd
//! (one shared server per test binary, a unique `PrefixedStore` prefix per test; the
//! compaction test gets a private server).

mod memory {
    ferry_store::store_contract_tests!(ferry_store::testsuite::memory_test_store);
}

mod etcd {
    ferry_store::store_contract_tests!(ferry_store::testsuite::etcd_test_store);
}

mod whole_suite {
    use std::sync::Arc;

    use ferry_store::testsuite::run_contract_suite;
    use ferry_store::{MemoryStore, PrefixedStore, Store, keys};

    /// The suite as one function, twice over one store (each behaviour uses unique
    /// prefixes), behind a `PrefixedStore`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_runs_the_suite_twice() {
        let store: Arc<dyn Store> = Arc::new(PrefixedStore::new(
            Arc::new(MemoryStore::new()) as Arc<dyn Store>,
            keys::test_prefix("suite"),
        ));
        run_contract_suite(store.clone(), true).await;
        run_contract_suite(store, true).await;
    }
}
