# Models arrive with the annotation issue; the app is registered now so that its
# migrations start from 0001.
