"""Secrets from the environment, or from the file NAME_FILE names (AWX file injectors)."""

from ansible_collections.storedesk.vdi.plugins.module_utils._secret_env import secret_from_env


def test_secret_from_env_reads_the_file_the_variable_names(tmp_path):
    path = tmp_path / 'token'
    path.write_text('s3cret\n')
    assert secret_from_env('X', {'X_FILE': str(path)}) == 's3cret'
    assert secret_from_env('X', {'X': 'direct', 'X_FILE': str(path)}) == 'direct'
    assert secret_from_env('X', {}) is None
