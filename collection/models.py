# Models arrive with the collection issue; the app is registered now so that its
# migrations start from 0001.
