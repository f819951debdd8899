"""Downloads from the Hugging Face hub: what a download is (spec), one resumable, verified job
(job, transfer), the queue that runs them, and the hub client (hub)."""
