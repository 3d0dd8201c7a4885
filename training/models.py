# Models arrive with the training issue; the app is registered now so that its
# migrations start from 0001.
