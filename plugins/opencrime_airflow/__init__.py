"""What is Airflow-specific in opencrime: Assets, task configuration, the demo runner."""
