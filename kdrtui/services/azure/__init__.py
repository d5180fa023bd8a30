"""Provisioning a plan on Azure HDInsight through the azure-mgmt SDKs, and Ambari for Kafka's settings.

Nothing here imports an Azure SDK at import time: :mod:`.clients` imports them when a client is first
built, so the console starts fast.
"""
